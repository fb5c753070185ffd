-- ast: * | count by process.name | sort host.name asc
-- error
invalid_argument: 1:32: cannot sort by 'host.name': the rows of 'count by' have process.name, count
  | count by process.name | sort host.name
                                 ^
