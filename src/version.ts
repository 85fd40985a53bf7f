// Single source of the version string printed by --version, SARIF and User-Agent headers.
export const VERSION = '0.1.0';
