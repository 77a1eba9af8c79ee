import { startTestApp, TestApp } from '../support/app';
import { as, httpSpec } from '../support/http-spec';

describe('audit: reading streams as stored', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  const spec = () => httpSpec(t).given();
  const auditor = as('auditor', 'admin');
  const charges = [10, 20, 30].map((amount) => as('audited').post('/me/points/charge', { amount }));

  it('shows an admin every event of a stream with its metadata, in pages', async () => {
    await httpSpec(t)
      .given(...charges)
      .when(auditor.get('/admin/streams/wallet-audited?limit=2'))
      .then(200, {
        events: [
          { type: 'PointsCharged', revision: '0', data: { amount: 10 }, metadata: { actorId: 'audited', role: 'customer' } },
          { type: 'PointsCharged', revision: '1', data: { amount: 20 } },
        ],
        nextRevision: 2,
      });
    await spec()
      .when(auditor.get('/admin/streams/wallet-audited?fromRevision=2'))
      .then(200, { events: [{ revision: '2', data: { amount: 30 } }], nextRevision: null });
  });

  it('refuses customers', async () => {
    await spec().when(as('audited').get('/admin/streams/wallet-audited')).thenRefused(403, 'FORBIDDEN');
  });

  it('answers 404 for an unknown stream', async () => {
    await spec().when(auditor.get('/admin/streams/wallet-nobody')).thenRefused(404, 'STREAM_NOT_FOUND');
  });

  it('answers 400 for a malformed stream name', async () => {
    await spec().when(auditor.get('/admin/streams/..%2Fetc')).thenRefused(400, 'VALIDATION_FAILED');
  });
});
