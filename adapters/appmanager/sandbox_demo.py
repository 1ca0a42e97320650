"""Realistic demo records for the AppManager sandbox, shaped as AppManager sends them.

Every record carries every field AMHelper's web-service classes define for its stream
(../shared/spec/appmanager-api.md §2.4-2.9, AMHelper WS/ws_rec_*.cs up to 2022), null
where an agent would leave it empty, as .NET serialises a class. Among them the shapes
real installations send: colour and material codes per row, the 2022 order header
fields, descriptive rows whose unit type is 0, a lead's `fatturato` as text (a string in
the library), and some customer notes and activities without a unique_id (a string, so
null, in the library). Dates come in the different wire forms seen in the field (ISO 8601
with and without zone, .NET `/Date(ms+hhmm)/`), so the decoder is exercised by every demo
run.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

ARTICLES = [
    ("ACQ-NAT-050", "Acqua minerale naturale 0,5 l", "PZ", "CT", 24, 0.32),
    ("ACQ-FRI-150", "Acqua frizzante 1,5 l", "PZ", "CF", 6, 0.41),
    ("OLI-EVO-075", "Olio extravergine di oliva 0,75 l", "PZ", "CT", 12, 6.90),
    ("PAS-SPA-500", "Spaghetti di grano duro 500 g", "PZ", "CT", 24, 0.89),
    ("PAS-PEN-500", "Penne rigate 500 g", "PZ", "CT", 24, 0.89),
    ("POM-PEL-400", "Pomodori pelati 400 g", "PZ", "CT", 24, 0.65),
    ("CAF-MOK-250", "Caffe macinato moka 250 g", "PZ", "CT", 20, 3.10),
    ("VIN-CHI-075", "Chianti DOCG 0,75 l", "BT", "CT", 6, 7.80),
    ("PAR-REG-1KG", "Parmigiano Reggiano 24 mesi", "KG", "PZ", 1, 19.50),
    ("BIS-FRO-350", "Frollini al burro 350 g", "PZ", "CT", 12, 1.95),
    ("RIS-CAR-1KG", "Riso Carnaroli 1 kg", "PZ", "CT", 10, 2.70),
    ("TON-OLI-080", "Tonno all'olio 3x80 g", "CF", "CT", 16, 3.40),
]
CUSTOMERS = [
    ("C000123", "Alimentari Rossi S.n.c.", "Via Roma 12", "20121", "Milano", "MI"),
    ("C000245", "Bar Centrale di Bianchi Luca", "Piazza Duomo 3", "50122", "Firenze", "FI"),
    ("C000311", "Supermercato Verdi S.r.l.", "Corso Italia 88", "10128", "Torino", "TO"),
    ("C000402", "Trattoria da Gino", "Via del Porto 5", "16128", "Genova", "GE"),
    ("C000517", "Enoteca Esposito", "Via Toledo 150", "80134", "Napoli", "NA"),
]
AGENTS = ["AG01", "AG02", "AG07"]
USERS = {"AG01": "m.ferrari", "AG02": "g.russo", "AG07": "s.colombo"}


def _iso(dt: datetime, rng: random.Random) -> str:
    form = rng.randrange(3)
    if form == 0:
        return dt.strftime("%Y-%m-%dT%H:%M:%S")
    if form == 1:
        return dt.strftime("%Y-%m-%dT%H:%M:%S") + "+01:00"
    ms = int((dt - datetime(1970, 1, 1)).total_seconds() * 1000) - 3600 * 1000
    return f"/Date({ms}+0100)/"


def _base(rng: random.Random, project: str) -> dict[str, Any]:
    agent = rng.choice(AGENTS)
    return {"cod_prog": project, "cod_ditta": "ACME", "cod_agente": agent,
            "cod_operatore": None, "utente": USERS[agent]}


COLOURS = ["NER", "BIA", "ROS", "BLU"]
MATERIALS = ["COT", "LIN", "VET", "ACC"]


def _colours_and_materials(rng: random.Random) -> dict[str, Any]:
    """cod_materiale1..15 / cod_colore1..15: the first one or two set on one row in four
    (the variant an agent picked), the rest null."""
    used = rng.choice([0, 0, 0, 1, 2])
    out: dict[str, Any] = {}
    for i in range(1, 16):
        out[f"cod_materiale{i}"] = rng.choice(MATERIALS) if i <= used else None
        out[f"cod_colore{i}"] = rng.choice(COLOURS) if i <= used else None
    return out


def demo_row(rng: random.Random, i: int, when: datetime) -> dict[str, Any]:
    code, desc, um1, um2, factor, price = rng.choice(ARTICLES)
    tipo_um = rng.choice([1, 1, 1, 2, 3])
    qta = rng.randint(1, 48) * (factor if tipo_um != 1 else 1)
    omag = 0 if rng.random() < 0.9 else rng.choice([1, 2, 3])
    return {
        "id": i + 1, "codice_articolo": code, "descrizione_riga": desc,
        "note": "Consegnare al mattino" if rng.random() < 0.1 else None,
        "ext_cod_tipo_riga_ord": "0", "ext_cod_tipo_riga_omag": str(omag),
        "tipo_um": str(tipo_um), "cod_um_1": um1, "cod_um_2": um2,
        "fattore_conversione": factor, "qta": qta,
        "qta_2": qta // factor if tipo_um != 1 else None,
        "codice_confezione": um2 if tipo_um == 3 else None,
        "qta_confezione": qta // factor if tipo_um == 3 else None,
        "prezzo": 0 if omag else price, "prezzo_2": round(price * factor, 2),
        "sconto_1": rng.choice([0, 0, 5, 10]), "sconto_2": rng.choice([0, 0, 2]),
        "sconto_3": 0, "sconto_4": 0, "sconto_5": 0, "sconto_6": 0, "sconto_importo": 0,
        "mag_perc_1": 0, "mag_perc_2": 0, "mag_importo": 0,
        "data_consegna_riga": _iso(when + timedelta(days=rng.randint(1, 10)), rng),
        "cod_combinazione": None, "cod_catalogo": None, "cod_tipo_fattura": None,
        **_colours_and_materials(rng),
        "dettagli": [],
    }


def demo_order(rng: random.Random, project: str = "ic.acme", rows: int = 4, offer: bool = False,
               new_customer: bool = False, now: datetime | None = None) -> dict[str, Any]:
    when = (now or datetime.now()).replace(microsecond=0) - timedelta(minutes=rng.randint(0, 600))
    cust = rng.choice(CUSTOMERS)
    pickup = rng.random() < 0.1
    order: dict[str, Any] = {
        **_base(rng, project),
        "guid_test_ord": str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper(),
        "importatore": None, "cod_clifor": None if new_customer else cust[0],
        "cod_destinazione": None, "cod_cliente_utente": None,
        "data_ordine": _iso(when, rng), "data_consegna": _iso(when + timedelta(days=3), rng),
        "data_import": None,
        "cod_cond_pag": rng.choice(["RB60", "BB30", "RD"]), "cod_cond_pag_deperibilita": None,
        "cod_porto": "F", "des_porto": "Franco destino", "cod_mod_sped": "V",
        "des_mod_sped": "Vettore", "cod_valuta": "EUR",
        "sconto_1": 0, "sconto_2": 0, "sconto_3": 0, "sconto_4": 0, "sconto_5": 0, "sconto_6": 0,
        "ext_cod_tipo_ord": "CLI-MOBPRE" if offer else "CLI-MOBORD",
        "cod_magazzino": "01", "cod_serie_ordini": None,
        "note": "Scarico dal retro§Chiamare prima" if rng.random() < 0.2 else None,
        "des_note_fat": None, "des_note_cons": None, "des_note_gen": None,
        "cod_colore_estensione1": None, "cod_colore_estensione2": None,
        "cod_materiale_estensione1": None, "cod_materiale_estensione2": None,
        # AMHelper 2022 (data_ritiro declared a number and flg_ritiro a date there: sent
        # here as a flag and a date, which is what their names say).
        "cod_urgenza": rng.choice([1, 1, 1, 0]), "flg_aggiunta": 0, "num_doc_aggiunta": None,
        "data_ritiro": _iso(when + timedelta(days=2), rng) if pickup else None,
        "flg_ritiro": 1 if pickup else 0,
        "pec_clifor": None, "cod_gg_consegna_clifor": None, "cod_tipo_cliente_clifor": None,
        "cod_zona_consegna_clifor": rng.choice(["Z1", "Z2", None]),
        "clienti": [], "righe": [demo_row(rng, i, when) for i in range(rows)],
    }
    if rows >= 3:  # a text-only row: no article, no quantity, unit type 0
        order["righe"][-1] = {**order["righe"][-1], "ext_cod_tipo_riga_ord": "2",
                              "codice_articolo": None, "descrizione_riga": "Merce fragile",
                              "tipo_um": "0", "ext_cod_tipo_riga_omag": "0",
                              "cod_um_1": None, "cod_um_2": None, "fattore_conversione": None,
                              "qta": None, "qta_2": None, "codice_confezione": None,
                              "qta_confezione": None, "prezzo": None, "prezzo_2": None,
                              **_colours_and_materials(random.Random(0))}
    if rows >= 2 and rng.random() < 0.5:
        order["righe"][0]["dettagli"] = [
            {"cod_assortimento": "A1", "cod_sviluppo": "S", "cod_taglia": t,
             "cod_taglia_guida": None, "ext_cod_tipo_det_riga_ord": "0", "qta": q}
            for t, q in (("S", 2), ("M", 3), ("L", 1))]
    if new_customer:
        order["clienti"] = [{
            "ragione_sociale": "Pasticceria Nuova Aurora S.r.l.", "indirizzo": "Via Garibaldi 21",
            "cap": "40121", "cod_citta": "A944", "des_citta": "Bologna", "provincia": "BO",
            "cod_nazione": "IT", "des_nazione": "Italia", "telefono1": "051 123456",
            "telefono2": None, "cellulare": "333 1234567", "fax": None,
            "email": "info@nuovaaurora.example", "partita_iva": "01234567890",
            "codice_fiscale": "01234567890", "iban": None, "note": None,
            "cod_canale_vendita": "HO", "cod_categoria": "PAS", "cod_classe_sconto": None,
            "cod_cond_pag": "RB60", "des_cond_pag": "Ri.Ba. 60 gg", "cod_porto_sped": "F",
            "des_porto_sped": "Franco destino", "ragione_sociale_consegna": "Laboratorio Aurora",
            "indirizzo_consegna": "Via dell'Industria 4", "cod_citta_consegna": "A944",
            "des_citta_consegna": "Bologna", "cap_consegna": "40138", "provincia_consegna": "BO",
            "cod_nazione_consegna": "IT", "des_nazione_consegna": "Italia",
            "telefono_consegna": None, "cellulare_consegna": None, "fax_consegna": None,
            "cod_porto_consegna": None, "pec_clifor": "nuovaaurora@pec.example",
            "cod_gg_cons_clifor": "LUN", "cod_tipo_cli_clifor": "PAS"}]
        order["pec_clifor"] = "nuovaaurora@pec.example"
        order["cod_gg_consegna_clifor"] = "LUN"
        order["cod_tipo_cliente_clifor"] = "PAS"
    return order


def demo_customer_change(rng: random.Random, project: str = "ic.acme") -> dict[str, Any]:
    code, name, addr, cap, city, prov = rng.choice(CUSTOMERS)
    return {**_base(rng, project), "cod_cliente": code, "ragione_sociale": name,
            "indirizzo": addr, "cap": cap, "citta": city, "provincia": prov,
            "telefono1": f"0{rng.randint(10, 99)} {rng.randint(100000, 999999)}",
            "telefono2": None, "cellulare": None, "fax": None,
            "email": f"ordini@{code.lower()}.example", "partita_iva": None,
            "codice_fiscale": None, "cod_cond_pag": "RB60",
            "data_import": _iso(datetime.now().replace(microsecond=0), rng)}


def demo_customer_note(rng: random.Random, project: str = "ic.acme") -> dict[str, Any]:
    note = {**_base(rng, project), "cod_cliente": rng.choice(CUSTOMERS)[0],
            "nota": rng.choice(["Chiuso il lunedi", "Preferisce consegne entro le 10",
                                "Interessato alla nuova linea bio§Richiamare a marzo"])
            + f" (visita {rng.randrange(10 ** 6)})",
            "progressivo": rng.choice(["0", "", "2"]), "tipo_nota": "Visita",
            "data_import": None}
    if rng.random() < 0.2:  # a string in the library, so it may come empty
        note["unique_id"] = ""
    return note


def demo_lead(rng: random.Random, project: str = "ic.acme") -> dict[str, Any]:
    return {**_base(rng, project), "cod_lead": None, "cod_agente_lead": None,
            "descrizione1": rng.choice(["Bottega del Gusto", "Caffe Letterario", "Mini Market 24"]),
            "descrizione2": None, "nome": "Paolo", "cognome": "Galli", "partita_iva": None,
            "codice_fiscale": None, "telefono": "02 7654321", "cellulare": None,
            "email": "paolo.galli@example.com", "fax": None, "internet": None,
            "note": "Conosciuto in fiera", "indirizzo": "Via Manzoni 7", "cod_citta": "F205",
            "citta": "Milano", "cap": "20121", "provincia": "MI", "cod_nazione": "IT",
            "nazione": "Italia", "cod_valuta": "EUR",
            # A string in the library: what the agent typed.
            "fatturato": rng.choice(["250000", "1.200.000", "circa 2 milioni", None]),
            "cod_campagna": "FIE24", "campagna": "Fiera 2024",
            "cod_categoria": "BAR", "categoria": "Bar e caffetterie",
            "cod_canale_vendita": "HO", "canale_vendita": "Horeca",
            "cod_concorrente": None, "concorrente": None,
            "cod_modalita_acquisizione": "VIS", "modalita_acquisizione": "Visita diretta",
            "cod_fonte": "FIE", "fonte": "Fiera", "cod_interesse": "BIO", "interesse": "Linea bio",
            "cod_settore": "ALI", "settore": "Alimentare", "cod_mansione": "TIT",
            "mansione": "Titolare", "data_import": None}


def demo_lead_note(rng: random.Random, project: str = "ic.acme",
                   cod_lead: str = "L0001") -> dict[str, Any]:
    return {**_base(rng, project), "cod_lead": cod_lead,
            "nota": "Richiede listino e campionatura", "progressivo": "", "tipo_nota": "Nota",
            "data_import": None}


def demo_activity(rng: random.Random, project: str = "ic.acme",
                  cod_lead: str = "L0001") -> dict[str, Any]:
    day = datetime.now().replace(microsecond=0) + timedelta(days=rng.randint(1, 14))
    activity = {"cod_ditta": "ACME", "cod_attivita": None, "cod_lead": cod_lead,
                "cod_tipo_attivita": rng.choice(["VIS", "TEL"]),
                "des_oggetto": "Presentazione catalogo",
                "des_note_attivita": f"Chiamata n. {rng.randrange(10 ** 6)}",
                "cod_operatore": None,
                "cod_stato": rng.choice(["D", "E"]), "data_esecuzione": _iso(day, rng),
                "ora_esecuzione": f"{rng.randint(8, 17):02d}:{rng.choice([0, 30]):02d}",
                "des_note": None, "cod_agente": rng.choice(AGENTS), "utente": "m.ferrari",
                "data_import": None}
    if rng.random() < 0.25:  # a string in the library, so it may come null
        activity["unique_id"] = None
    return activity


def demo_records(stream: str, rng: random.Random, project: str = "ic.acme",
                 rows: int = 4) -> dict[str, Any]:
    if stream == "orders":
        return demo_order(rng, project, rows=rows, offer=rng.random() < 0.2)
    makers = {"customers": demo_customer_change, "customer_notes": demo_customer_note,
              "leads": demo_lead, "lead_notes": demo_lead_note, "activities": demo_activity}
    return makers[stream](rng, project)  # type: ignore[operator]


def seed_set(rng: random.Random, project: str = "ic.acme") -> list[tuple[str, dict[str, Any]]]:
    """The first-start demo content: a little of everything."""
    out: list[tuple[str, dict[str, Any]]] = []
    for i in range(6):
        out.append(("orders", demo_order(rng, project, rows=3 + i % 4)))
    out.append(("orders", demo_order(rng, project, rows=4, offer=True)))
    out.append(("orders", demo_order(rng, project, rows=5, new_customer=True)))
    out += [("customers", demo_customer_change(rng, project)) for _ in range(3)]
    out += [("customer_notes", demo_customer_note(rng, project)) for _ in range(3)]
    out += [("leads", demo_lead(rng, project)) for _ in range(2)]
    out += [("lead_notes", demo_lead_note(rng, project)) for _ in range(2)]
    out += [("activities", demo_activity(rng, project)) for _ in range(3)]
    return out
