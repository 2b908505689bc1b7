/** Types of recordSection.mjs (see there). */
export declare function spliceSection(current: string, name: string, report: string, opts?: { append?: 'blank-line' | 'newline' | false }): string | undefined;
