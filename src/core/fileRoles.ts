/**
 * File roles: what a file is *for* in a repository (source, test, docs, …), read from its path
 * alone, and what a question is asking for. Retrieval uses the role as a prior on a file's score,
 * which the query's intent lifts ("how is X tested" wants tests; "where is the docs page for Y"
 * wants docs).
 *
 * Why: a real workspace is not only code. An issue report shares its boilerplate with the
 * repository's own issue template, changelog entries and translated READMEs repeat every feature
 * name, and a repository's tests use exactly the vocabulary of its code. Without priors those files
 * outrank the code on most questions (see docs/evaluation.md for the measured effect of each).
 *
 * The rules are conventions shared by most ecosystems (folder and file names), never names of a
 * particular project.
 */
import { languageForPath } from './languages';

export type FileRole =
  'source' | 'declaration' | 'tooling' | 'test' | 'docs' | 'example' | 'bench' | 'template' | 'changelog' | 'translation' | 'meta' | 'config' | 'vendor' | 'generated';

export const FILE_ROLES: readonly FileRole[] = [
  'source',
  'declaration',
  'tooling',
  'test',
  'docs',
  'example',
  'bench',
  'template',
  'changelog',
  'translation',
  'meta',
  'config',
  'vendor',
  'generated',
];

/** Prose formats: a file in one of these is documentation wherever it lives. */
const PROSE_LANGUAGES = new Set(['markdown', 'restructuredtext', 'asciidoc', 'latex', 'html']);
/** Data and build-configuration formats. */
const CONFIG_LANGUAGES = new Set(['json', 'yaml', 'toml', 'ini', 'xml', 'csv', 'dotenv', 'makefile', 'cmake', 'dockerfile', 'terraform', 'groovy']);
const README_FILE = /^readme([-_.][^/]*)?$/i;
/** Shell and batch scripts: build, release and CI glue in nearly every repository. */
const SCRIPT_LANGUAGES = new Set(['shell', 'powershell', 'bat']);
/** Extensions that are prose although `languageForPath` does not know them. */
// Prose by extension, including man pages (`rg.1`, `jq.1.prebuilt`, `fd.1.in`).
const PROSE_EXTENSIONS = /\.(txt|text|rst|adoc|asciidoc|textile|rdoc|pod|org|wiki)$|\.[1-9][a-z]?(\.[a-z]+)?$/i;
// Build and packaging files: lockfiles, properties, autotools (`Makefile.am`, `configure.ac`,
// `*.in`, `*.m4`), RPM `.spec`, signatures.
const CONFIG_EXTENSIONS = /\.(lock|properties|conf|editorconfig|gitattributes|gitignore|npmignore|mailmap|plist|gradle|am|ac|in|m4|spec|asc|sig|gpg)$/i;

/** Folder names (any depth) of test code and test data. */
const TEST_DIR = /(^|\/)(tests?|__tests__|__mocks__|__snapshots__|spec|specs|testing|testdata|test[-_]data|fixtures?|__fixtures__|e2e|it|integration[-_]tests?|unittests?)\//i;
/** File names of tests: `foo.test.ts`, `foo_test.go`, `test_foo.py`, `FooTest.java`, `foo_spec.rb`. */
const TEST_FILE = /(^|\/)(test_[^/]+|[^/]+[._-](test|tests|spec|specs)\.[A-Za-z0-9]+|[^/]+(Test|Tests|Spec|IT)\.(java|kt|scala|cs|groovy|swift|php)|conftest\.py)$/;
const EXAMPLE_DIR = /(^|\/)(examples?|samples?|demos?|tutorials?|playground|cookbook)\//i;
const BENCH_DIR = /(^|\/)(bench|benches|benchmarks?|perf)\//i;
const VENDOR_DIR = /(^|\/)(vendor|vendored|third[-_]?party|external|extern|deps)\//i;
const GENERATED_DIR = /(^|\/)(dist|build|out|target|generated|gen|__generated__)\//i;
const GENERATED_FILE = /(\.min\.[a-z]+|\.pb\.(go|cc|h)|_pb2\.py|\.generated\.[a-z]+|\.g\.dart|\.designer\.cs|-lock\.json|\.map)$/i;
const TOOLING_DIR = /(^|\/)(scripts?|tools?|tooling|devtools|hack|ci|\.ci|\.circleci|\.buildkite|contrib|completions?|complete)\//i;
/** Type declarations: the shape of an API, not its behaviour. */
const DECLARATION_FILE = /\.d\.[cm]?ts$/i;
const DOCS_DIR = /(^|\/)(docs?|documentation|doc-src|man|manual|site|website|wiki|guides?)\//i;
const TEMPLATE_PATH = /(^|\/)\.github\/|(^|\/)\.gitlab\/|(^|\/)(issue|pull_request|merge_request)_template(\.[a-z]+)?$|(^|\/)ISSUE_TEMPLATE\//i;
const CHANGELOG_FILE = /(^|\/)(change[-_]?log|changes|history|news|releases?|release[-_]notes|whatsnew|upgrading|migration)([-_.][^/]*)?$/i;
const META_FILE =
  /(^|\/)(license|licence|copying|unlicense|notice|authors|contributors|contributing|code[-_]of[-_]conduct|security|support|governance|maintainers|codeowners|funding|citation)([-_.][^/]*)?$/i;
/**
 * Translations: a language tag as a folder of prose (`docs/zh-CN/…`, `i18n/ja/…`) or in the name
 * (`README.ja.md`, `README_zh-CN.md`). Only well-known tags, so `io/` or `db/` never match.
 */
const LANG_TAG = '(zh|zh[-_](cn|tw|hans|hant)|ja|jp|ko|kr|fr|de|es|pt|pt[-_]br|ru|it|nl|pl|tr|uk|vi|id|th|ar|fa|he|hi|cs|sv|fi|da|no|nb|hu|ro|el|bg|sk)';
const TRANSLATION_DIR = new RegExp(`(^|/)(i18n|l10n|locales?|translations?|lang)/|(^|/)${LANG_TAG}/`, 'i');
const TRANSLATION_FILE = new RegExp(`[._-]${LANG_TAG}\\.(md|mdx|rst|txt|adoc|html)$`, 'i');

/**
 * Path → role, memoised: retrieval asks for the role of every candidate file of every query, and a
 * role takes a dozen regular expressions. Bounded (cleared when it holds ROLE_CACHE_MAX paths); a
 * pure function of the path, so results are identical.
 */
const ROLE_CACHE_MAX = 100_000;
const roleCache = new Map<string, FileRole>();

/** The role of a workspace-relative path (`/` separators). */
export function fileRole(p: string): FileRole {
  let role = roleCache.get(p);
  if (role === undefined) {
    role = roleOfPath(p);
    if (roleCache.size >= ROLE_CACHE_MAX) roleCache.clear();
    roleCache.set(p, role);
  }
  return role;
}

function roleOfPath(p: string): FileRole {
  const language = languageForPath(p);
  const base = p.slice(p.lastIndexOf('/') + 1);
  // `text` is also what an unknown extension maps to (a DSL, builtins in the project's own
  // language): only .txt-like extensions and extension-less READMEs, changelogs and licences are prose.
  const prose = PROSE_LANGUAGES.has(language) || PROSE_EXTENSIONS.test(p) || README_FILE.test(base) || (!base.includes('.') && (CHANGELOG_FILE.test(base) || META_FILE.test(base)));
  if (TEMPLATE_PATH.test(p) && (prose || CONFIG_LANGUAGES.has(language))) return 'template';
  if (prose) {
    if (TRANSLATION_FILE.test(p) || TRANSLATION_DIR.test(p)) return 'translation';
    if (CHANGELOG_FILE.test(p)) return 'changelog';
    if (META_FILE.test(p)) return 'meta';
    if (TEST_DIR.test(p)) return 'test';
    return 'docs';
  }
  if (GENERATED_FILE.test(p) || GENERATED_DIR.test(p)) return 'generated';
  if (VENDOR_DIR.test(p)) return 'vendor';
  if (TEST_DIR.test(p) || TEST_FILE.test(p)) return 'test';
  // Anything else in a docs folder (site scripts, bundled assets, data files) serves the docs.
  if (DOCS_DIR.test(p)) return 'docs';
  // CI workflows and scripts under .github/ are repository tooling.
  if (TEMPLATE_PATH.test(p)) return 'tooling';
  if (BENCH_DIR.test(p)) return 'bench';
  if (EXAMPLE_DIR.test(p)) return 'example';
  if (CONFIG_LANGUAGES.has(language) || CONFIG_EXTENSIONS.test(p)) return 'config';
  if (TOOLING_DIR.test(p) || SCRIPT_LANGUAGES.has(language)) return 'tooling';
  if (DECLARATION_FILE.test(p)) return 'declaration';
  // Code, or an unknown extension (DSL files, builtins written in the project's own language).
  return 'source';
}

const LICENCE_FILE = /(^|[-_.])(licen[cs]e|copying|unlicense)([-_.][^/]*)?$/i;
const MANIFEST_FILE =
  /^(package\.json|cargo\.toml|go\.mod|pom\.xml|build\.gradle(\.kts)?|setup\.py|pyproject\.toml|[^/]*\.gemspec|composer\.json|[^/]*\.csproj|cmakelists\.txt|meson\.build|makefile\.am|configure\.ac)$/i;

/**
 * Folders of third-party code copied into the workspace: a folder below the root that carries its
 * own licence file but no package manifest of its own. (A package of a monorepo has both; a library
 * pasted into `src/` has only the licence.) Returned with a trailing `/`.
 */
export function vendoredFolders(paths: Iterable<string>): string[] {
  const licensed = new Set<string>();
  const packaged = new Set<string>();
  for (const p of paths) {
    const slash = p.lastIndexOf('/');
    if (slash < 0) continue;
    const dir = p.slice(0, slash + 1);
    const base = p.slice(slash + 1);
    if (LICENCE_FILE.test(base)) licensed.add(dir);
    if (MANIFEST_FILE.test(base)) packaged.add(dir);
  }
  return [...licensed].filter((d) => !packaged.has(d)).sort();
}

/** True for test code and test data. */
export function isTestPath(p: string): boolean {
  return fileRole(p) === 'test';
}

/** What a query asks for, beyond source code. */
export interface QueryIntent {
  tests: boolean;
  docs: boolean;
  examples: boolean;
  config: boolean;
  changelog: boolean;
}

/**
 * Asking for tests: "tests", "tested", "testing", specs, fixtures, mocks, assertions, and "test" as
 * a noun ("the test for X", "test cases", "is there a test?"). Not "test" naming a feature of the
 * code ("the test client", "test runner", "test mode"): those questions are about source (measured
 * on a Python repository's own questions, docs/evaluation.md).
 */
const TESTS_INTENT =
  /\b(tests|tested|testing|specs?|(unit|integration|e2e|end-to-end|regression|snapshot)[- ]tests?|test (cases?|suites?|files?|fixtures?|coverage|for|of|that|which|covering|checks?)|fixtures?|mocks?|assertions?)\b|\btest\b\s*($|[?.!,;:])/i;
/**
 * Asking for documentation: "docs", "documentation", "documented", the README, tutorials, guides,
 * "the manual", "getting started", a docs page. Not "doc comments" or a feature called manual
 * ("manual retries"): those are about code.
 */
const DOCS_INTENT = /\b(docs|documentation|documented|readme|tutorials?|guides|getting started|(the|user|reference|developer) (manual|guide)|docs? (pages?|sites?))\b/i;
/**
 * Asking for examples: "an example of", "the examples", "sample code", "a demo". Not the phrase "for
 * example", nor samples of data ("sample rate", "the samples are dropped").
 */
const EXAMPLES_INTENT = /(?<!\bfor )\bexamples?\b|\b(code samples?|sample (code|apps?|applications?|projects?|programs?)|demos?)\b/i;
const CONFIG_INTENT =
  /\b(config(uration)? files?|ci|workflows?|github actions|build scripts?|package\.json|tsconfig|cargo\.toml|pom\.xml|gradle|makefile|cmake(lists)?|dockerfile|linter config|eslint config)\b/i;
const CHANGELOG_INTENT = /\b(change ?logs?|release notes|what changed|breaking changes?|migration guide|upgrade guide)\b/i;

/**
 * The intent of a *question*. Issue reports are not read for intent: they mention tests, docs and
 * versions in passing ("the docs say…", "my test fails") while the fix is nearly always in code.
 */
export function queryIntent(question: string, isIssueReport: boolean): QueryIntent {
  if (isIssueReport) return { tests: false, docs: false, examples: false, config: false, changelog: false };
  return {
    tests: TESTS_INTENT.test(question),
    docs: DOCS_INTENT.test(question),
    examples: EXAMPLES_INTENT.test(question),
    config: CONFIG_INTENT.test(question),
    changelog: CHANGELOG_INTENT.test(question),
  };
}

/**
 * Score multipliers by role. Measured on the dev bench (docs/evaluation.md): each value is the one
 * that helped on both benchmark kinds; a role whose intent the query shows gets 1.
 */
export type RolePriors = Record<FileRole, number>;

export const DEFAULT_ROLE_PRIORS: Readonly<RolePriors> = Object.freeze({
  source: 1,
  declaration: 0.7,
  tooling: 0.6,
  test: 0.2,
  docs: 0.3,
  example: 0.5,
  bench: 0.5,
  template: 0.05,
  changelog: 0.1,
  translation: 0.05,
  meta: 0.1,
  config: 0.4,
  vendor: 0.5,
  generated: 0.3,
});

/**
 * A role the question asks for is preferred over source code, not merely undemoted: "how is the
 * token bucket tested?" wants the test first, even though the source shares every word.
 */
export const INTENT_BOOST = 1.5;

/** The multiplier for a file of `role`, given the query's intent. */
export function rolePrior(role: FileRole, intent: QueryIntent, priors: Readonly<RolePriors> = DEFAULT_ROLE_PRIORS): number {
  switch (role) {
    case 'test':
      return intent.tests ? INTENT_BOOST : priors.test;
    case 'docs':
      return intent.docs ? INTENT_BOOST : priors.docs;
    case 'translation':
      // Asked for docs, the reader's own language still comes first.
      return intent.docs ? Math.max(priors.translation, priors.docs) : priors.translation;
    case 'example':
      return intent.examples ? INTENT_BOOST : priors.example;
    case 'config':
      return intent.config ? INTENT_BOOST : priors.config;
    case 'changelog':
      return intent.changelog ? INTENT_BOOST : priors.changelog;
    default:
      return priors[role];
  }
}
