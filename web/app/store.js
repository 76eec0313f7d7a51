// IndexedDB: the scan queue (what has not reached the server yet), the per-scan results the
// server gave, the label payloads this phone has seen (so a typed short code can be scanned),
// and the trip's position fixes waiting to be sent.

const DB_NAME = "medwaste";
const VERSION = 2;
let opening = null;

function open() {
  opening ||= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains("queue")) {
        db.createObjectStore("queue", { keyPath: "client_event_id" }).createIndex("queued_at", "queued_at");
      }
      if (!db.objectStoreNames.contains("results")) {
        db.createObjectStore("results", { keyPath: "client_event_id" }).createIndex("at", "at");
      }
      if (!db.objectStoreNames.contains("labels")) {
        db.createObjectStore("labels", { keyPath: "container_id" }).createIndex("short_code", "short_code");
      }
      if (!db.objectStoreNames.contains("track")) {
        db.createObjectStore("track", { keyPath: "key" }).createIndex("queued_at", "queued_at");
      }
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return opening;
}

function done(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx(name, mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const t = db.transaction(name, mode);
    let value;
    Promise.resolve(fn(t.objectStore(name))).then((v) => (value = v), reject);
    t.oncomplete = () => resolve(value);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

export const put = (name, value) => tx(name, "readwrite", (s) => done(s.put(value)));
export const remove = (name, key) => tx(name, "readwrite", (s) => done(s.delete(key)));
export const get = (name, key) => tx(name, "readonly", (s) => done(s.get(key)));
export const count = (name) => tx(name, "readonly", (s) => done(s.count()));
export const all = (name, index) =>
  tx(name, "readonly", (s) => done(index ? s.index(index).getAll() : s.getAll()));
export const byIndex = (name, index, key) => tx(name, "readonly", (s) => done(s.index(index).get(key)));
