// YAML parsing, loaded on first use: most runs parse no YAML at all (the detector catalog is compiled at build
// time and config files are optional), and loading the parser was ~7 % of `keyloop scan`'s start-up.
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

const require = createRequire(import.meta.url);

export type ParseYamlOptions = Yaml.ParseOptions & Yaml.DocumentOptions & Yaml.SchemaOptions & Yaml.ToJSOptions;

/** yaml's `parse(text, options)`; throws its errors unchanged. */
export function parseYaml(text: string, options?: ParseYamlOptions): unknown {
  return (require('yaml') as typeof Yaml).parse(text, options);
}
