/**
 * Which language a file is, and which tree-sitter grammar (if any) parses it.
 *
 * Language ids are plain strings so the index can store them as-is. Only the languages listed in
 * {@link GRAMMAR_WASM} are parsed; every other id (markdown, json, yaml, …) is chunked by the
 * grammar-free paths of the chunker, and anything we do not recognise is `text`.
 */

/**
 * Language id → grammar `.wasm` file name, as copied into the wasm folder by scripts/build.mjs
 * (GRAMMAR_WASM there must list the same files).
 */
export const GRAMMAR_WASM: Readonly<Record<string, string>> = Object.freeze({
  typescript: 'tree-sitter-typescript.wasm',
  tsx: 'tree-sitter-tsx.wasm',
  javascript: 'tree-sitter-javascript.wasm',
  python: 'tree-sitter-python.wasm',
  go: 'tree-sitter-go.wasm',
  rust: 'tree-sitter-rust.wasm',
  java: 'tree-sitter-java.wasm',
  c: 'tree-sitter-c.wasm',
  cpp: 'tree-sitter-cpp.wasm',
  csharp: 'tree-sitter-c_sharp.wasm',
  ruby: 'tree-sitter-ruby.wasm',
  php: 'tree-sitter-php.wasm',
});

/** Every language id that has a grammar, in a stable order. */
export const GRAMMAR_LANGUAGES: readonly string[] = Object.freeze(Object.keys(GRAMMAR_WASM));

/** File extension (lower case, with the dot) → language id. */
export const EXTENSION_LANGUAGE: Readonly<Record<string, string>> = Object.freeze({
  // Languages with a grammar.
  '.ts': 'typescript',
  '.mts': 'typescript',
  '.cts': 'typescript',
  '.tsx': 'tsx',
  // The javascript grammar parses JSX too, so .jsx needs no grammar of its own.
  '.js': 'javascript',
  '.mjs': 'javascript',
  '.cjs': 'javascript',
  '.jsx': 'javascript',
  '.py': 'python',
  '.pyi': 'python',
  '.go': 'go',
  '.rs': 'rust',
  '.java': 'java',
  // .h is ambiguous (C or C++); the C grammar reads C++-free headers exactly and C++ headers well
  // enough for chunking (errors stay local and the chunker tolerates them).
  '.c': 'c',
  '.h': 'c',
  '.cc': 'cpp',
  '.cpp': 'cpp',
  '.cxx': 'cpp',
  '.c++': 'cpp',
  '.hpp': 'cpp',
  '.hh': 'cpp',
  '.hxx': 'cpp',
  '.h++': 'cpp',
  '.ipp': 'cpp',
  '.cs': 'csharp',
  '.rb': 'ruby',
  '.rake': 'ruby',
  '.gemspec': 'ruby',
  '.php': 'php',
  '.phtml': 'php',
  // Markdown: chunked by headings.
  '.md': 'markdown',
  '.mdx': 'markdown',
  '.markdown': 'markdown',
  // Everything below is chunked by blank-line blocks.
  '.json': 'json',
  '.jsonc': 'json',
  '.json5': 'json',
  '.yaml': 'yaml',
  '.yml': 'yaml',
  '.toml': 'toml',
  '.ini': 'ini',
  '.cfg': 'ini',
  '.xml': 'xml',
  '.svg': 'xml',
  '.html': 'html',
  '.htm': 'html',
  '.vue': 'vue',
  '.svelte': 'svelte',
  '.css': 'css',
  '.scss': 'scss',
  '.sass': 'sass',
  '.less': 'less',
  '.sql': 'sql',
  '.sh': 'shell',
  '.bash': 'shell',
  '.zsh': 'shell',
  '.fish': 'shell',
  '.ps1': 'powershell',
  '.bat': 'bat',
  '.cmd': 'bat',
  '.kt': 'kotlin',
  '.kts': 'kotlin',
  '.swift': 'swift',
  '.scala': 'scala',
  '.sc': 'scala',
  '.dart': 'dart',
  '.lua': 'lua',
  '.pl': 'perl',
  '.pm': 'perl',
  '.r': 'r',
  '.jl': 'julia',
  '.ex': 'elixir',
  '.exs': 'elixir',
  '.erl': 'erlang',
  '.hs': 'haskell',
  '.ml': 'ocaml',
  '.fs': 'fsharp',
  '.clj': 'clojure',
  '.groovy': 'groovy',
  '.gradle': 'groovy',
  '.m': 'objective-c',
  '.mm': 'objective-cpp',
  '.zig': 'zig',
  '.proto': 'proto',
  '.graphql': 'graphql',
  '.gql': 'graphql',
  '.tf': 'terraform',
  '.dockerfile': 'dockerfile',
  '.cmake': 'cmake',
  '.mk': 'makefile',
  '.rst': 'restructuredtext',
  '.adoc': 'asciidoc',
  '.tex': 'latex',
  '.txt': 'text',
  '.csv': 'csv',
  '.env': 'dotenv',
});

/** Whole file names (lower case) that identify a language without a telling extension. */
const FILENAME_LANGUAGE: Readonly<Record<string, string>> = Object.freeze({
  dockerfile: 'dockerfile',
  containerfile: 'dockerfile',
  makefile: 'makefile',
  gnumakefile: 'makefile',
  'cmakelists.txt': 'cmake',
  gemfile: 'ruby',
  rakefile: 'ruby',
  readme: 'markdown',
});

/**
 * The language id of a path (either separator), by file name then extension; `text` when unknown.
 * Case-insensitive: `README.MD` is markdown.
 */
export function languageForPath(filePath: string): string {
  const slash = Math.max(filePath.lastIndexOf('/'), filePath.lastIndexOf('\\'));
  const name = filePath.slice(slash + 1).toLowerCase();
  const byName = FILENAME_LANGUAGE[name];
  if (byName) return byName;
  const dot = name.lastIndexOf('.');
  // A leading dot alone (".bashrc") is a hidden file, not an extension.
  if (dot <= 0) return 'text';
  return EXTENSION_LANGUAGE[name.slice(dot)] ?? 'text';
}

/** The grammar `.wasm` file name for a language id, or undefined when it has no grammar. */
export function grammarWasmFor(language: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(GRAMMAR_WASM, language) ? GRAMMAR_WASM[language] : undefined;
}
