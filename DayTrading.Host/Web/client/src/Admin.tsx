import { useEffect, useState } from 'react';
import { api, errorText } from './api';

interface Member { address: string; status: string; roles: string[]; reachable: boolean; leader: boolean }
interface Region { address: string; shards: number; entities: number; failed: number }
interface ClusterReply { self: string; leader: string | null; members: Member[]; shardRegions: Region[] | { error: string } }

/** The administrator's view: cluster members, shard distribution, claim codes, the system-wide DUMPLOG. */
export function AdminPage({ onRefused }: { onRefused: (text: string) => void }) {
  const [cluster, setCluster] = useState<ClusterReply | null>(null);
  const [claimUser, setClaimUser] = useState('');
  const [claim, setClaim] = useState('');

  useEffect(() => {
    let stop = false;
    const load = async () => {
      const r = await api<ClusterReply>('GET', '/api/admin/cluster');
      if (stop) return;
      if (!r.ok) { onRefused(`Refused: the admin view is for administrators (${r.status})`); return; }
      setCluster(r.data);
    };
    void load();
    const t = setInterval(() => void load(), 5000);
    return () => { stop = true; clearInterval(t); };
  }, [onRefused]);

  async function issue(e: React.FormEvent) {
    e.preventDefault();
    const r = await api<{ userId: string; code: string; error?: string }>('POST', '/api/admin/claim-codes', { userId: claimUser.trim() });
    setClaim(r.ok && r.data ? `code for ${r.data.userId}: ${r.data.code}` : `refused: ${errorText(r)}`);
  }

  if (!cluster) return <p className="hint">Loading…</p>;
  const regions = Array.isArray(cluster.shardRegions) ? cluster.shardRegions : [];
  return (
    <div id="admin" className="layout single">
      <section className="card" aria-labelledby="admin-title">
        <h2 id="admin-title">Administration</h2>
        <p><a id="admin-dumplog" href="/api/admin/dumplog">Download the global audit log (DUMPLOG)</a></p>
        <form id="claim-form" className="inline" noValidate onSubmit={(e) => void issue(e)}>
          <label>Claim code for an existing account <input id="claim-user" value={claimUser} placeholder="user id" onChange={(e) => setClaimUser(e.target.value)} /></label>
          <button type="submit" id="claim-submit">Issue code</button>
        </form>
        <p id="claim-result" role="status">{claim}</p>
      </section>
      <section className="card" aria-labelledby="members-title">
        <h2 id="members-title">Cluster members</h2>
        <div className="table-wrap">
          <table id="members">
            <thead><tr><th>Address</th><th>Status</th><th>Roles</th><th>Reachable</th></tr></thead>
            <tbody>{cluster.members.map((m) => (
              <tr key={m.address}><td>{m.address}{m.leader ? ' (leader)' : ''}{m.address === cluster.self ? ' (this node)' : ''}</td><td>{m.status}</td><td>{m.roles.join(', ')}</td><td>{m.reachable ? 'yes' : 'no'}</td></tr>
            ))}</tbody>
          </table>
        </div>
        <h2>Shard distribution</h2>
        <div className="table-wrap">
          <table id="shards">
            <thead><tr><th>Region</th><th className="num">Shards</th><th className="num">Entities</th><th className="num">Failed</th></tr></thead>
            <tbody>{regions.length === 0
              ? <tr><td colSpan={4} className="hint">{Array.isArray(cluster.shardRegions) ? 'no shards yet' : cluster.shardRegions.error}</td></tr>
              : regions.map((x) => <tr key={x.address}><td>{x.address}</td><td className="num">{x.shards}</td><td className="num">{x.entities}</td><td className="num">{x.failed}</td></tr>)}</tbody>
          </table>
        </div>
      </section>
    </div>
  );
}
