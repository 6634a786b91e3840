// This browser's keys and pins, in IndexedDB. Only wrapped keys are stored (the passphrase
// never is); the pinned admin and server keys and the revocations this browser has seen
// sit beside them. Every failure (storage blocked, full, damaged) becomes a
// KeystoreError with a message a counselor can act on.

const DB_NAME = "antam-workspace";
const VERSION = 1;

export class KeystoreError extends Error {}

function failure(error) {
  if (error?.name === "QuotaExceededError") {
    return new KeystoreError("Bộ nhớ của trình duyệt đã đầy nên không lưu được khóa. Hãy giải "
      + "phóng dung lượng rồi thử lại.");
  }
  return new KeystoreError("Trình duyệt không cho đọc hoặc ghi kho khóa (có thể đang ở chế độ "
    + "ẩn danh hoặc kho bị hỏng). Hãy dùng cửa sổ thường, hoặc nhập lại tệp sao lưu khóa.");
}

function open() {
  return new Promise((resolve, reject) => {
    let request;
    try {
      request = indexedDB.open(DB_NAME, VERSION);
    } catch (error) {
      reject(failure(error));
      return;
    }
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains("identities")) {
        db.createObjectStore("identities", { keyPath: "key_id" });
      }
      if (!db.objectStoreNames.contains("config")) db.createObjectStore("config");
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(failure(request.error));
    request.onblocked = () => reject(failure(null));
  });
}

async function run(store, mode, work) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(store, mode);
      const result = work(tx.objectStore(store));
      tx.oncomplete = () => resolve(result.result ?? result);
      tx.onerror = () => reject(failure(tx.error));
      tx.onabort = () => reject(failure(tx.error));
    });
  } finally {
    db.close();
  }
}

/** Stored identities of one kind, newest first. */
export async function identities(kind) {
  const all = await run("identities", "readonly", (store) => store.getAll());
  if (!Array.isArray(all)) throw failure(null);
  return all.filter((record) => record && record.kind === kind && record.wrapped)
    .sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
}

export async function anyIdentity() {
  for (const kind of ["counselor", "admin"]) {
    const found = await identities(kind);
    if (found.length) return { kind, records: found };
  }
  return null;
}

export async function addIdentity(kind, wrapped, createdAt = new Date().toISOString()) {
  await run("identities", "readwrite", (store) => store.put({ key_id: wrapped.key_id, kind,
    created_at: createdAt, wrapped }));
}

export async function removeIdentity(keyId) {
  await run("identities", "readwrite", (store) => store.delete(keyId));
}

export async function config() {
  return (await run("config", "readonly", (store) => store.get("pins"))) || {};
}

export async function saveConfig(values) {
  const current = await config();
  await run("config", "readwrite", (store) => store.put({ ...current, ...values }, "pins"));
}

/** Everything this browser holds of An Tâm, gone (the "forget this device" button). */
export async function wipe() {
  await new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(DB_NAME);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(failure(request.error));
    request.onblocked = () => resolve();
  });
}
