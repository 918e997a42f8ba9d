/* The order form on the patient page (doctors and consultants): posts the test and priority
 * to /api/v1/patients/<id>/orders, the route that builds the same PlaceOrder an HL7 ORM makes,
 * then re-reads the record and redraws the orders table. Refusals show the server's reason
 * (the problem body's detail). No inline script: the page's CSP allows only 'self'. */
(function () {
  'use strict';

  const form = document.getElementById('order-form');
  const table = document.getElementById('orders');
  const record = document.getElementById('record');
  if (!form || !table || !record) {
    return;
  }
  const message = document.getElementById('order-message');

  function csrfToken() {
    const el = document.querySelector('[data-csrf]');
    return el ? el.dataset.csrf : '';
  }

  function cell(text) {
    const td = document.createElement('td');
    td.textContent = text === null || text === undefined ? '' : String(text);
    return td;
  }

  async function redraw() {
    const resp = await fetch('/api/v1/patients/' + record.dataset.patientId, {
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
    });
    if (!resp.ok) {
      return;
    }
    const data = await resp.json();
    const rows = data.orders.map((o) => {
      const tr = document.createElement('tr');
      tr.dataset.orderId = String(o.id);
      tr.append(cell(o.ordered_at), cell(o.service), cell(o.priority), cell(o.status),
        cell(o.ordered_by || o.ordering_practice));
      return tr;
    });
    table.replaceChildren(...rows);
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const values = new FormData(form);
    const body = { test: values.get('test'), priority: values.get('priority') };
    if (values.get('consultant_directed')) {
      body.consultant_directed = true;
    }
    const resp = await fetch(form.dataset.url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        'X-CSRFToken': csrfToken(),
      },
      body: JSON.stringify(body),
    });
    const data = await resp.json().catch(() => ({}));
    if (resp.ok) {
      message.dataset.kind = 'ok';
      message.textContent = 'Ordered: ' + form.querySelector('#order-test').selectedOptions[0].text;
      await redraw();
    } else {
      message.dataset.kind = 'error';
      message.textContent = data.detail || data.title || 'HTTP ' + resp.status;
    }
  });
})();
