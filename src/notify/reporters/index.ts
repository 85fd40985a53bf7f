export { jsonReporter } from './json.js';
export { csvReporter } from './csv.js';
export { sarifReporter } from './sarif.js';
export { tableReporter } from './table.js';
export type { Reporter, ReportInput } from './types.js';

import { csvReporter } from './csv.js';
import { jsonReporter } from './json.js';
import { sarifReporter } from './sarif.js';
import { tableReporter } from './table.js';
import type { Reporter } from './types.js';

export const reporters = { table: tableReporter, json: jsonReporter, sarif: sarifReporter, csv: csvReporter } satisfies Record<string, Reporter>;
export type ReportFormat = keyof typeof reporters;
