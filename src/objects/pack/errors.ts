// A pack, index, loose object or delta that does not parse. Callers report it per object ('corrupt-object');
// it extends HostError so that, if it ever reaches the CLI boundary, it is shown as a one-line message.
import { HostError } from '../../core/errors.js';

export class PackFormatError extends HostError {
  override name = 'PackFormatError';
}
