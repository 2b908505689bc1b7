/** Types of random.mjs (see there): a seeded mulberry32 generator of numbers in [0, 1). */
export declare function seededRandom(seed: number): () => number;
