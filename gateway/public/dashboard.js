// The program dashboard: headline numbers, a 30-day chart and top rewards from the analytics
// queries, the points liability (pending, due to expire) from the members ledger, and a live feed
// of balance and tier changes over the staff subscription. No framework, no CDN: the page, this
// script and the graphql-ws client are served by the gateway itself.
(() => {
  const $ = (id) => document.getElementById(id);
  const number = new Intl.NumberFormat();
  const money = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  let token = sessionStorage.getItem('loyalty-token') || '';
  let client;

  async function graphql(query, variables = {}) {
    const response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = await response.json();
    if (body.errors) throw new Error(body.errors.map((e) => e.message).join('; '));
    return body.data;
  }

  const DAY = 86400000;
  const REPORTS = `query Dashboard($range: DateRangeInput!) {
    programStats { members activeMembers pointsIssued pointsRedeemed pointsExpired pointsOutstanding redemptions purchaseRevenue }
    pointsLiability(expiringWithinDays: [30, 60, 90]) { pending expiring { withinDays points } }
    pointsTimeline(range: $range, interval: DAY) { start pointsIssued pointsRedeemed }
    topRewards(limit: 5) { reward { name } redemptions pointsSpent }
  }`;

  function renderStats(stats) {
    for (const [key, value] of Object.entries(stats)) {
      const cell = $(`stat-${key}`);
      if (cell) cell.textContent = key === 'purchaseRevenue' ? money.format(value / 100) : number.format(value);
    }
  }

  function renderLiability(liability) {
    $('liability-pending').textContent = number.format(liability.pending);
    $('expiring').innerHTML = liability.expiring
      .map((due) => `<li>within ${due.withinDays} days: <strong>${number.format(due.points)}</strong> pts</li>`)
      .join('');
  }

  function renderChart(points) {
    const svg = $('chart');
    const max = Math.max(1, ...points.map((p) => Math.max(p.pointsIssued, p.pointsRedeemed)));
    const width = 600 / points.length;
    const bar = (value, x, cls) => {
      const h = (value / max) * 180;
      return `<rect class="${cls}" x="${x.toFixed(1)}" y="${(190 - h).toFixed(1)}" width="${(width / 2 - 1).toFixed(1)}" height="${h.toFixed(1)}"><title>${value}</title></rect>`;
    };
    svg.innerHTML =
      points.map((p, i) => bar(p.pointsIssued, i * width, 'issued') + bar(p.pointsRedeemed, i * width + width / 2, 'redeemed')).join('') +
      '<line x1="0" y1="190" x2="600" y2="190" stroke="#c5cad6"/>';
  }

  function renderTopRewards(rows) {
    $('top-rewards').innerHTML = rows.length
      ? rows.map((r) => `<li>${escape(r.reward.name)} — ${number.format(r.redemptions)} × (${number.format(r.pointsSpent)} pts)</li>`).join('')
      : '<li class="empty">No redemptions yet</li>';
  }

  function escape(text) {
    const span = document.createElement('span');
    span.textContent = text;
    return span.innerHTML;
  }

  async function refresh() {
    const to = new Date();
    const data = await graphql(REPORTS, { range: { from: new Date(to.getTime() - 29 * DAY).toISOString(), to: to.toISOString() } });
    renderStats(data.programStats);
    renderLiability(data.pointsLiability);
    renderChart(data.pointsTimeline);
    renderTopRewards(data.topRewards);
  }

  let pending;
  const refreshSoon = () => {
    clearTimeout(pending);
    pending = setTimeout(() => refresh().catch(showError), 400); // the read model follows the bus
  };

  function addToFeed(text) {
    const item = document.createElement('li');
    item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
    $('feed').prepend(item);
    while ($('feed').children.length > 100) $('feed').lastChild.remove();
  }

  function connectFeed() {
    client?.dispose();
    client = graphqlWs.createClient({
      url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
      connectionParams: { authorization: `Bearer ${token}` },
      on: {
        connected: () => { $('live').textContent = 'live'; $('live').className = 'on'; },
        closed: () => { $('live').textContent = 'offline'; $('live').className = 'off'; },
      },
    });
    client.subscribe(
      { query: 'subscription { pointsBalanceChanged { balance delta transaction { type } member { email } } }' },
      {
        next: ({ data }) => {
          if (!data) return;
          const e = data.pointsBalanceChanged;
          addToFeed(`${e.member.email}: ${e.delta > 0 ? '+' : ''}${number.format(e.delta)} (${e.transaction.type}) → ${number.format(e.balance)}`);
          refreshSoon();
        },
        error: showError,
        complete: () => {},
      },
    );
    client.subscribe(
      { query: 'subscription { tierChanged { member { email } previousTier { name } tier { name } } }' },
      {
        next: ({ data }) => data && addToFeed(`${data.tierChanged.member.email}: ${data.tierChanged.previousTier?.name ?? '—'} → ${data.tierChanged.tier.name}`),
        error: showError,
        complete: () => {},
      },
    );
  }

  function showError(error) {
    $('status').textContent = `Error: ${error?.message ?? error?.reason ?? 'connection closed'}`;
  }

  async function signIn() {
    try {
      await refresh();
      sessionStorage.setItem('loyalty-token', token);
      $('status').textContent = 'Signed in.';
      $('app').hidden = false;
      connectFeed();
    } catch (error) {
      $('app').hidden = true;
      showError(error);
    }
  }

  $('signin').addEventListener('submit', (event) => {
    event.preventDefault();
    token = $('token').value.trim().replace(/^Bearer\s+/i, '');
    void signIn();
  });
  if (token) void signIn();
})();
