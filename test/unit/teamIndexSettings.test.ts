/** The groundwork.teamIndex setting: every accepted and refused shape, with the message it gives. */
import { strict as assert } from 'node:assert';
import { validateTeamIndex } from '../../src/vscode/teamIndexSettings';

describe('groundwork.teamIndex setting', () => {
  const cases: Array<[unknown, RegExp | 'off' | { url: string; repository?: string }]> = [
    [undefined, 'off'],
    [{ url: '', repository: '' }, 'off'],
    [{ url: 'postgres://reader@db.internal:5432/groundwork?sslmode=verify-full', repository: '' }, { url: 'postgres://reader@db.internal:5432/groundwork?sslmode=verify-full' }],
    [
      { url: ' postgresql://reader@db/gw ', repository: ' github.com/acme/app ' },
      { url: 'postgresql://reader@db/gw', repository: 'github.com/acme/app' },
    ],
    [{ url: 'postgres://reader@db/gw?passwordEnv=GW_PW' }, { url: 'postgres://reader@db/gw?passwordEnv=GW_PW' }],
    ['postgres://reader@db/gw', /must be an object/],
    [[1], /must be an object/],
    [{ url: 'postgres://reader:hunter2@db/gw' }, /contains a password: .*Set Team Index Password/],
    [{ url: 'mysql://reader@db/gw' }, /must start with postgres:\/\/ or postgresql:\/\//],
    [{ url: 'https://reader@db/gw' }, /must start with postgres/],
    [{ url: 42 }, /url must be a string/],
    [{ url: 'postgres://reader@db/gw', repository: 'acme app' }, /without spaces/],
    [{ url: '', repository: 'github.com/acme/app' }, /url is empty/],
    [{ url: 'postgres://reader@db/gw', password: 'x' }, /unknown field "password"/],
    [{ url: 'postgres://' }, /not a valid URL|names no host/],
  ];
  for (const [raw, want] of cases) {
    it(`${JSON.stringify(raw)} → ${want instanceof RegExp ? want.source : JSON.stringify(want)}`, () => {
      const got = validateTeamIndex(raw);
      if (want === 'off') assert.deepEqual(got, { kind: 'off' });
      else if (want instanceof RegExp) {
        assert.equal(got.kind, 'invalid');
        assert.match((got as { message: string }).message, want);
        assert.match((got as { message: string }).message, /groundwork\.teamIndex/);
        assert.ok(!(got as { message: string }).message.includes('hunter2'));
      } else assert.deepEqual(got, { kind: 'on', ...want });
    });
  }
});
