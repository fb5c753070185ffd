-- ast: * | sort count asc
-- error
invalid_argument: 1:8: unknown field 'count' (to count events use '| count')
  | sort count
         ^
