// Decoders of obfuscated credential stores: FileZilla, WinSCP, JetBrains and Basic-auth values, DBeaver files.
export { mayHoldStore, STORE_KEYWORDS, storeSpans, type StoreSpan } from './content.js';
export { decodeValue, isValueDecoder, type ValueContext } from './value.js';
