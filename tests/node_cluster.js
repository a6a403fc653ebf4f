// SPDX-License-Identifier: GPL-2.0
'use strict';
// A Node.js cluster in its default scheduling on Linux, round-robin (SCHED_RR): the primary
// accepts every connection and passes the handle to a worker over the worker's IPC channel, a
// Unix socket (sendmsg with SCM_RIGHTS); the workers serve HTTP and count their requests. The
// ground truth of tests/handoff_cases.sh.
//
//   node tests/node_cluster.js ADDR PORT WORKERS STATS READY
//
// READY gets "ready" once every worker listens. On SIGTERM the primary tells each worker to
// stop; each answers with its count and exits, and the primary then writes STATS, one JSON
// document, and exits 0:
//
//   {"primary":PID,"workers":[{"pid":PID,"requests":N},...]}
const cluster = require('node:cluster');
const fs = require('node:fs');
const http = require('node:http');

// What NODE_CLUSTER_SCHED_POLICY could change: the primary must be the one that accepts.
cluster.schedulingPolicy = cluster.SCHED_RR;
const [addr, port, nworkers, statsFile, readyFile] = process.argv.slice(2);
const want = Number(nworkers);

function primary() {
	const counts = new Map(); // pid -> requests, as each worker told when it stopped
	let listening = 0;
	let exited = 0;
	let failed = false;

	for (let i = 0; i < want; i++) {
		const w = cluster.fork();
		w.on('message', (msg) => {
			if (msg && msg.type === 'count')
				counts.set(msg.pid, msg.requests);
		});
	}
	cluster.on('listening', () => {
		if (++listening === want)
			fs.writeFileSync(readyFile, 'ready\n');
	});
	cluster.on('exit', (w, code, signal) => {
		if (code !== 0 || signal)
			failed = true;
		if (++exited < want)
			return;
		const workers = [...counts].map(([pid, requests]) => ({pid, requests}));
		fs.writeFileSync(statsFile, JSON.stringify({primary: process.pid, workers}) + '\n');
		process.exit(failed ? 1 : 0);
	});
	process.on('SIGTERM', () => {
		for (const id in cluster.workers)
			cluster.workers[id].send({type: 'stop'});
	});
}

function worker() {
	let requests = 0;
	const server = http.createServer((req, res) => {
		requests++;
		res.end('ok\n');
	});
	server.listen(Number(port), addr);
	process.on('message', (msg) => {
		if (msg.type !== 'stop')
			return;
		server.close(() => {
			process.send({type: 'count', pid: process.pid, requests}, () => process.exit(0));
		});
	});
}

if (cluster.isPrimary)
	primary();
else
	worker();
