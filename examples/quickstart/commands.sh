distarch run distarch.yaml # the master; Ctrl-C stops everything gracefully
distarch ps                # from another terminal: every instance, its pid and state
distarch stop              # from another terminal: stop the master and its instances
