"""What runs leave behind: run directories with their manifests (`rundir`) and the SQLite run
registry (`registry`)."""
