// Installing modules into the node's module store (`cheshire install`): see README.md here.
export { installModule, type InstallOptions, type InstallResult } from './install.ts';
export { uninstallModule } from './uninstall.ts';
export { listInstalled, moduleStoreDir, MODULE_STORE_DIRNAME, INSTALL_RECORD, type InstalledModule } from './store.ts';
export { progressPrinter, type InstallPhase, type InstallProgress, type ProgressPrinter } from './progress.ts';
export { installCommand, INSTALL_USAGE, type InstallCommandOptions } from './command.ts';
export { parseInstallSpec, type InstallSpec, type InstallPin, type InstallSource } from './spec.ts';
export { fetchNineP, type NinePFetcher, type NinePTarget, type NinePFetchOptions } from './fetch-9p.ts';
export { treeHash } from './tree-hash.ts';
