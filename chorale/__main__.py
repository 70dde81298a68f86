from chorale.cli import main

main()
