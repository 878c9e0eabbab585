from mano_cli.main import main

main()
