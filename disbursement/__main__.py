from disbursement.cli import main

if __name__ == "__main__":  # imported (pydoc, a package walk): nothing runs, nothing exits
    main()
