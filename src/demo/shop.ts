/**
 * The demo shop: what `npm run demo` puts into a server. Prices in KRW. Orders name products
 * and coupons by name; daysAgo spreads them over the popular-products window (3 days).
 */
export const DEMO_ADMIN = 'demo-admin';

export const PRODUCTS = [
  { name: 'Mechanical keyboard', price: 89_000, stock: 40 },
  { name: 'Wireless mouse', price: 35_000, stock: 60 },
  { name: '27-inch 4K monitor', price: 429_000, stock: 12 },
  { name: 'USB-C hub', price: 49_000, stock: 80 },
  { name: 'Noise-cancelling headphones', price: 259_000, stock: 15 },
  { name: 'Laptop stand', price: 39_000, stock: 50 },
  { name: '1080p webcam', price: 69_000, stock: 30 },
  { name: 'LED desk lamp', price: 45_000, stock: 25 },
  { name: 'Ergonomic chair', price: 389_000, stock: 8 },
  { name: 'XL mouse pad', price: 19_000, stock: 100 },
  { name: 'Portable SSD 1 TB', price: 129_000, stock: 35 },
  { name: 'Bluetooth speaker', price: 79_000, stock: 20 },
] as const;

export type ProductName = (typeof PRODUCTS)[number]['name'];

export const WELCOME = 'Welcome: 5,000 off orders from 30,000';
/** Five in all, and the four customers each get one: one left. */
export const WINTER = 'Winter sale: 10% off, up to 20,000';

export const COUPONS = [
  { name: WELCOME, discount: { type: 'FIXED', amount: 5_000 }, totalQuantity: 1_000, minOrderAmount: 30_000, validDays: 30 },
  { name: WINTER, discount: { type: 'PERCENT', percent: 10, maxDiscount: 20_000 }, totalQuantity: 5, minOrderAmount: 50_000, validDays: 30 },
] as const;

export type CouponName = typeof WELCOME | typeof WINTER;

export interface Customer {
  readonly userId: string;
  readonly points: number;
  readonly coupons: readonly CouponName[];
}

export const CUSTOMERS: readonly Customer[] = [
  { userId: 'alice', points: 1_000_000, coupons: [WELCOME, WINTER] },
  { userId: 'bob', points: 800_000, coupons: [WINTER] },
  { userId: 'carol', points: 500_000, coupons: [WELCOME, WINTER] },
  { userId: 'dave', points: 300_000, coupons: [WELCOME, WINTER] },
];

export interface PlannedOrder {
  readonly daysAgo: number;
  readonly userId: string;
  readonly items: readonly { readonly product: ProductName; readonly quantity: number }[];
  readonly coupon?: CouponName;
}

/** In the order they are placed (oldest first); each user's orders in their own order too. */
export const ORDERS: readonly PlannedOrder[] = [
  { daysAgo: 2, userId: 'alice', items: [{ product: 'Mechanical keyboard', quantity: 1 }, { product: 'XL mouse pad', quantity: 1 }] },
  { daysAgo: 2, userId: 'bob', items: [{ product: 'Noise-cancelling headphones', quantity: 1 }], coupon: WINTER },
  { daysAgo: 2, userId: 'carol', items: [{ product: 'USB-C hub', quantity: 2 }, { product: 'Wireless mouse', quantity: 1 }] },
  { daysAgo: 1, userId: 'alice', items: [{ product: '27-inch 4K monitor', quantity: 1 }], coupon: WINTER },
  { daysAgo: 1, userId: 'dave', items: [{ product: 'Mechanical keyboard', quantity: 1 }, { product: 'Wireless mouse', quantity: 1 }], coupon: WELCOME },
  { daysAgo: 1, userId: 'bob', items: [{ product: 'USB-C hub', quantity: 1 }, { product: 'Portable SSD 1 TB', quantity: 1 }] },
  { daysAgo: 0, userId: 'carol', items: [{ product: 'Mechanical keyboard', quantity: 1 }, { product: '1080p webcam', quantity: 1 }], coupon: WELCOME },
  { daysAgo: 0, userId: 'dave', items: [{ product: 'USB-C hub', quantity: 1 }] },
  { daysAgo: 0, userId: 'alice', items: [{ product: 'Bluetooth speaker', quantity: 1 }], coupon: WELCOME },
];
