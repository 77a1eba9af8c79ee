import { PRODUCT_LIMITS, ProductCommand } from '../../../src/write/product/commands';
import { productDecider, productStream } from '../../../src/write/product/decider';
import { ProductEvent } from '../../../src/write/product/events';
import { fold } from '../../../src/shared/domain/decider';
import { DomainError } from '../../../src/shared/domain/errors';
import { specFor } from '../../support/decider-spec';

const given = specFor(productDecider);
const now = '2026-11-25T00:00:00.000Z';
const productId = 'p1';
const limits = PRODUCT_LIMITS;

const register = (name = 'Mug', price = 12_000, stock = 10): ProductCommand => ({
  type: 'RegisterProduct',
  data: { productId, name, price, stock, limits, now },
});
const update = (change: { name?: string; price?: number }): ProductCommand => ({ type: 'UpdateProduct', data: { productId, ...change, limits, now } });
const restock = (quantity: number): ProductCommand => ({ type: 'AddStock', data: { productId, quantity, limits, now } });
const decrease = (quantity: number, orderId = 'o1'): ProductCommand => ({ type: 'DecreaseStock', data: { productId, orderId, quantity, now } });
const restore = (orderId = 'o1'): ProductCommand => ({ type: 'RestoreStock', data: { productId, orderId, now } });

const registered = (stock = 10, name = 'Mug', price = 12_000): ProductEvent => ({
  type: 'ProductRegistered',
  data: { productId, name, price, stock, occurredAt: now },
});
const updated = (name: string, price: number): ProductEvent => ({ type: 'ProductUpdated', data: { productId, name, price, occurredAt: now } });
const added = (quantity: number, stockAfter: number): ProductEvent => ({ type: 'StockAdded', data: { productId, quantity, stockAfter, occurredAt: now } });
const decreased = (quantity: number, stockAfter: number, orderId = 'o1'): ProductEvent => ({
  type: 'StockDecreased',
  data: { productId, orderId, quantity, stockAfter, occurredAt: now },
});
const restored = (quantity: number, stockAfter: number, orderId = 'o1'): ProductEvent => ({
  type: 'StockRestored',
  data: { productId, orderId, quantity, stockAfter, occurredAt: now },
});

describe('product: registering', () => {
  it('registers a product with its stock', () => given().when(register()).then([registered()]));
  it('stores the name trimmed', () => given().when(register('  Mug  ')).then([registered()]));
  it('accepts a free product with no stock', () => given().when(register('Sticker', 0, 0)).then([registered(0, 'Sticker', 0)]));
  it('accepts the largest price and initial stock', () =>
    given().when(register('Gold', 1_000_000_000, 1_000_000)).then([registered(1_000_000, 'Gold', 1_000_000_000)]));
  it('accepts a 200-character name', () => given().when(register('x'.repeat(200))).then([registered(10, 'x'.repeat(200))]));
  it('refuses a product that already exists', () => given(registered()).when(register()).thenFails('PRODUCT_ALREADY_EXISTS'));
  it.each(['', '   ', 'x'.repeat(201)])('refuses the name %p', (name) => given().when(register(name)).thenFails('PRODUCT_NAME_INVALID'));
  it.each([-1, 1.5, Number.NaN, 1_000_000_001])('refuses the price %p', (price) =>
    given().when(register('Mug', price)).thenFails('PRODUCT_PRICE_INVALID'),
  );
  it.each([-1, 0.5, Number.POSITIVE_INFINITY, 1_000_001])('refuses the initial stock %p', (stock) =>
    given().when(register('Mug', 100, stock)).thenFails('STOCK_QUANTITY_INVALID'),
  );
});

describe('product: updating', () => {
  it('renames', () => given(registered()).when(update({ name: 'Big mug' })).then([updated('Big mug', 12_000)]));
  it('reprices', () => given(registered()).when(update({ price: 9_900 })).then([updated('Mug', 9_900)]));
  it('changes both', () => given(registered()).when(update({ name: ' Cup ', price: 0 })).then([updated('Cup', 0)]));
  it('keeps the latest values', () =>
    given(registered(), updated('Cup', 5)).when(update({ price: 6 })).then([updated('Cup', 6)]));
  it('does nothing when nothing changes', () => given(registered()).when(update({ name: 'Mug ', price: 12_000 })).thenNothingHappens());
  it('judges only the fields it changes (a rename survives a lowered price limit)', () =>
    given(registered())
      .when({ type: 'UpdateProduct', data: { productId, name: 'Cup', limits: { ...limits, maxPrice: 100 }, now } })
      .then([updated('Cup', 12_000)]));
  it('refuses an unknown product', () => given().when(update({ name: 'Cup' })).thenFails('PRODUCT_NOT_FOUND'));
  it('refuses a blank name', () => given(registered()).when(update({ name: ' ' })).thenFails('PRODUCT_NAME_INVALID'));
  it('refuses a negative price', () => given(registered()).when(update({ price: -1 })).thenFails('PRODUCT_PRICE_INVALID'));
  it('refuses a price over the limit', () => given(registered()).when(update({ price: 1_000_000_001 })).thenFails('PRODUCT_PRICE_INVALID'));
});

describe('product: restocking', () => {
  it('adds stock', () => given(registered(10)).when(restock(5)).then([added(5, 15)]));
  it('refills a sold-out product', () => given(registered(1), decreased(1, 0)).when(restock(3)).then([added(3, 3)]));
  it('accepts the largest restock', () => given(registered(0)).when(restock(1_000_000)).then([added(1_000_000, 1_000_000)]));
  it.each([0, -3, 2.5, 1_000_001])('refuses the quantity %p', (quantity) =>
    given(registered()).when(restock(quantity)).thenFails('STOCK_QUANTITY_INVALID'),
  );
  it('refuses an unknown product', () => given().when(restock(1)).thenFails('PRODUCT_NOT_FOUND'));
  it('refuses stock beyond what can be counted exactly', () =>
    given(registered(0), added(1, Number.MAX_SAFE_INTEGER)).when(restock(1)).thenFails('STOCK_LIMIT'));
});

describe('product: decreasing stock for an order', () => {
  it('takes what the order needs', () => given(registered(10)).when(decrease(3)).then([decreased(3, 7)]));
  it('may take the last unit, selling out', () => given(registered(3)).when(decrease(3)).then([decreased(3, 0)]));
  it('refuses more than is left, saying how much is', () => {
    const state = fold(productDecider, productDecider.initialState, [registered(2)]);
    let thrown: unknown;
    try {
      productDecider.decide(decrease(3), state);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DomainError);
    expect(thrown).toMatchObject({ code: 'OUT_OF_STOCK', kind: 'conflict', details: { productId, requested: 3, available: 2 } });
  });
  it('refuses a sold-out product', () => given(registered(1), decreased(1, 0)).when(decrease(1, 'o2')).thenFails('OUT_OF_STOCK'));
  it('does nothing when the order already took stock', () => given(registered(10), decreased(3, 7)).when(decrease(3)).thenNothingHappens());
  it('does not fail a repeated order even once sold out', () => given(registered(3), decreased(3, 0)).when(decrease(3)).thenNothingHappens());
  it('does not let a restored order take stock again', () =>
    given(registered(10), decreased(3, 7), restored(3, 10)).when(decrease(3)).thenNothingHappens());
  it.each([0, -1, 1.5])('refuses the quantity %p', (quantity) => given(registered()).when(decrease(quantity)).thenFails('STOCK_QUANTITY_INVALID'));
  it('refuses an unknown product', () => given().when(decrease(1)).thenFails('PRODUCT_NOT_FOUND'));
});

describe('product: restoring stock of a cancelled order', () => {
  it('gives back what the order took', () => given(registered(10), decreased(3, 7)).when(restore()).then([restored(3, 10)]));
  it('gives back only that order', () =>
    given(registered(10), decreased(3, 7), decreased(2, 5, 'o2')).when(restore('o2')).then([restored(2, 7, 'o2')]));
  it('puts a sold-out product back on sale', () => given(registered(2), decreased(2, 0)).when(restore()).then([restored(2, 2)]));
  it('restores once only', () => given(registered(10), decreased(3, 7), restored(3, 10)).when(restore()).thenNothingHappens());
  it('does nothing for an order that took no stock', () => given(registered(10)).when(restore('other')).thenNothingHappens());
  it('refuses an unknown product', () => given().when(restore()).thenFails('PRODUCT_NOT_FOUND'));
});

describe('product: state', () => {
  it('folds into what orders need to know', () => {
    const state = fold(productDecider, productDecider.initialState, [registered(10), updated('Cup', 500), decreased(4, 6), added(1, 7)]);
    expect(state).toMatchObject({ exists: true, name: 'Cup', price: 500, stock: 7 });
    expect(productDecider.initialState).toMatchObject({ exists: false, stock: 0 });
  });
  it('names the stream after the product', () => expect(productStream('p1')).toBe(`${productDecider.category}-p1`));
});
