from hepstack.run.entry import main

main()
