-- ast: * | sort process.pid asc
-- error
invalid_argument: 1:3: commit order is fixed (txid, event id): sort is not available
  | sort process.pid
    ^
