-- ast: (and (= process.cmdline "héllo wörld") (= bogus.fiëld 1))
-- error
invalid_argument: 1:35: unknown field 'bogus.fiëld'
  process.cmdline:"héllo wörld" and bogus.fiëld:1
                                    ^
