import { InProcessLeaseService } from '../../src/shared/lease/memory';
import { leaseContract } from './lease.contract';

describe('InProcessLeaseService', () => {
  leaseContract(async () => [new InProcessLeaseService()]);
});
