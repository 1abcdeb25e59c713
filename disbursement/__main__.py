from disbursement.cli import main

main()
