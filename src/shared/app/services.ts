import { Config } from '../config';
import { PayerCipher } from '../crypto/payer';
import { Clock, IdGenerator } from '../container/tokens';
import { CommandHandler } from '../command/handler';
import { DocumentStore } from '../documents/port';
import { EventStore } from '../eventstore/port';

/** What route modules need; resolved once from the container by the composition root. */
export interface AppServices {
  readonly config: Config;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly commands: CommandHandler;
  readonly events: EventStore;
  readonly documents: DocumentStore;
  readonly payers: PayerCipher;
}
