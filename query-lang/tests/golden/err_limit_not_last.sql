-- ast: * | limit 5 | sort process.pid asc
-- error
invalid_argument: 1:13: 'sort' after 'limit': limit must be the last stage
  | limit 5 | sort process.pid
              ^
