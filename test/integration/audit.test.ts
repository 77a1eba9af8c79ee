import { startTestApp, TestApp, bearer } from '../support/app';

describe('audit: reading streams as stored', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('shows an admin every event of a stream with its metadata, in pages', async () => {
    const user = await t.tokenFor('audited');
    for (const amount of [10, 20, 30]) await t.http().post('/me/points/charge').set(bearer(user)).send({ amount });
    const admin = await t.tokenFor('auditor', 'admin');
    const first = await t.http().get('/admin/streams/wallet-audited').query({ limit: 2 }).set(bearer(admin));
    expect(first.status).toBe(200);
    expect(first.body.events.map((e: { type: string; data: { amount: number } }) => [e.type, e.data.amount])).toEqual([
      ['PointsCharged', 10],
      ['PointsCharged', 20],
    ]);
    expect(first.body.events[0]).toMatchObject({ revision: '0', metadata: { actorId: 'audited', role: 'customer' } });
    expect(first.body.nextRevision).toBe(2);
    const second = await t.http().get('/admin/streams/wallet-audited').query({ fromRevision: 2 }).set(bearer(admin));
    expect(second.body.events.map((e: { revision: string }) => e.revision)).toEqual(['2']);
    expect(second.body.nextRevision).toBeNull();
  });

  it('refuses customers, and answers 404 for an unknown stream and 400 for a malformed name', async () => {
    const admin = await t.tokenFor('auditor', 'admin');
    expect((await t.http().get('/admin/streams/wallet-audited').set(bearer(await t.tokenFor('audited')))).status).toBe(403);
    expect((await t.http().get('/admin/streams/wallet-nobody').set(bearer(admin))).body.code).toBe('STREAM_NOT_FOUND');
    expect((await t.http().get('/admin/streams/..%2Fetc').set(bearer(admin))).status).toBe(400);
  });
});
