// Setup file of the jest project that runs the integration suite with the fast lane off (see jest.config.js).
process.env.FAST_LANE = 'false';
