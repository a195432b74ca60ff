/** The filter AST (RFC 7644 §3.4.2.2) is defined in src/store/filter-ast.ts, next to its SQL translation. */
export * from '../../store/filter-ast.ts';
