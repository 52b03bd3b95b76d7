from presswatch.cli.main import main

main()
