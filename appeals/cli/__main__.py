from appeals.cli import main

main()
