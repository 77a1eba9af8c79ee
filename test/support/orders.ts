import { OrderLine } from '../../src/write/order/events';

/** A product line priced as placing would price it: the amount is the unit price times the quantity. */
export const productLine = (productId: string, unitPrice: number, quantity: number): OrderLine => ({
  kind: 'PRODUCT',
  productId,
  name: `Product ${productId}`,
  unitPrice,
  quantity,
  amount: unitPrice * quantity,
});
