import { InProcessSessionPositions } from '../../src/shared/session/memory';
import { sessionContract } from './session.contract';

describe('InProcessSessionPositions', () => {
  sessionContract(async (ttlMs) => [new InProcessSessionPositions(ttlMs)]);
});
