from hepstack.entry import main

main()
