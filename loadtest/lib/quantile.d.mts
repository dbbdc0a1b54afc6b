export declare function quantile(sorted: readonly number[], q: number): number;
