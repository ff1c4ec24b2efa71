/** Builds the dashboard into dist/dashboard/ (see build.mjs). */
export declare function buildDashboard(options?: { outDir?: string; typecheck?: boolean }): Promise<{ outDir: string; files: string[] }>;
