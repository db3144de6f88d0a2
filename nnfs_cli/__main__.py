from nnfs_cli.cli import main

main()
