/** This release's version (package.json's; a test keeps them equal). Shown by --version, recorded with each import. */
export const FUSIONKIT_VERSION = "0.1.0";
