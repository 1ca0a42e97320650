"""Sample legacy return files built from the spec layouts (appmanager-api.md §4)."""

from __future__ import annotations

from formats.layout import get_layout

ORDER_FIELDS = get_layout("AM_ORD").field_names


def order_line(**values: str) -> str:
    """One AM_ORD line: every field empty unless given (by its layout name: the header
    note is FILLER5, AMHelper's T_NOTE)."""
    fields = dict.fromkeys(ORDER_FIELDS[:52], "")
    fields.update({"COD_DITTA": "ACME", "COD_EXT_ORD": "R", "T_DAT_ORDINE": "21112026",
                   "NR_ORD_ORIG": "1042", "T_COD_CLIFOR": "C001", "T_COD_AGENTE": "AG1",
                   "T_DAT_CONS_TES": "30112026", "T_COD_DEST": "D1", "T_COD_COND_PAG": "BB30",
                   "T_COD_OPERATORE": "OP1", "FILLER5": "consegna al mattino"})
    fields.update(values)
    return "|".join(fields[name] for name in ORDER_FIELDS[:52])


def order_file(nr: str = "1042") -> str:
    """An order with two article rows (one with discounts), a descriptive row and free goods."""
    common = {"NR_ORD_ORIG": nr}
    lines = [
        order_line(**common, R_IND_TIPO_RIGA="0", R_COD_ART="ART-1", R_DES_RIGA_ORD="Vite 4x40",
                   R_CDA_UM1="PZ", R_QTA_1="10", R_PREZZO_1="1,25", TIPO_UM="1", R_IND_TIPO_OM="0",
                   R_SCONTO_1="10", R_SCONTO_2="5,5", T_DAT_CONS_RIG="30112026"),
        order_line(**common, R_IND_TIPO_RIGA="0", R_COD_ART="ART-2.1", R_DES_RIGA_ORD="Dado M4",
                   R_CDA_UM1="PZ", R_CDA_UM2="CF", R_QTA_1="120", R_QTA_2="2", R_PREZZO_1="0,10",
                   R_PREZZO_2="6", TIPO_UM="3", R_COD_CONF="CF60", R_QTA_COLLI="2",
                   R_DES_NOTE="riga§con a capo"),
        order_line(**common, R_IND_TIPO_RIGA="2", R_DES_RIGA_ORD="Consegnare in magazzino B"),
        order_line(**common, R_IND_TIPO_RIGA="0", R_COD_ART="ART-1", R_DES_RIGA_ORD="Omaggio",
                   R_CDA_UM1="PZ", R_QTA_1="1", R_PREZZO_1="0", TIPO_UM="1", R_IND_TIPO_OM="2"),
    ]
    return "\r\n".join(lines) + "\r\n"


def customer_line(cod: str = "C001", id_: str = "501", **over: str) -> str:
    values = {"COD_DITTA": "ACME", "COD_CLIFOR": cod, "TIPO_CLIFOR": "0", "TELEFONO1": "02 123456",
              "TELEFONO2": "", "FAX": "", "CELLULARE": "333 1234567", "E_MAIL": "info@rossi.example",
              "PIVA": "01234567890", "RAG_SOC": "Rossi Srl", "DES_INDIR": "Via Roma 1",
              "DES_CAP": "20100", "DES_CITTA": "Milano", "DES_PROVINCIA": "MI", "COND_PAG": "BB30",
              "CODICE_FISCALE": "", "ID": id_}
    values.update(over)
    return "|".join(values.values())


def note_line(cod: str = "C001", progressivo: str = "0", id_: str = "700", **over: str) -> str:
    values = {"COD_DITTA": "ACME", "COD_CLIFOR": cod, "TIPO_CLIFOR": "0", "PROGRESSIVO": progressivo,
              "TIPO_NOTA": "Visita", "DES_NOTE": "Cliente interessato§richiamare", "ID": id_}
    values.update(over)
    return "|".join(values.values())


LEADS_XML = """<?xml version="1.0" standalone="yes"?>
<NewDataSet>
  <xs:schema id="NewDataSet" xmlns="" xmlns:xs="http://www.w3.org/2001/XMLSchema"
             xmlns:msdata="urn:schemas-microsoft-com:xml-msdata">
    <xs:element name="NewDataSet" msdata:IsDataSet="true"/>
  </xs:schema>
  <Table>
    <CDA_PROGETTO>ic.acme</CDA_PROGETTO>
    <COD_DITTA>ACME</COD_DITTA>
    <COD_LEAD></COD_LEAD>
    <DESCRIZIONE1>Bianchi Spa</DESCRIZIONE1>
    <INDIRIZZO>Via Po 3</INDIRIZZO>
    <CITTA>Torino</CITTA>
    <CAP>10100</CAP>
    <PROVINCIA>TO</PROVINCIA>
    <DES_NOTE>Fiera 2026§stand 12</DES_NOTE>
    <EMAIL>acquisti@bianchi.example</EMAIL>
    <COD_AGENTE>AG1</COD_AGENTE>
    <FATTURATO>125000.50</FATTURATO>
    <COD_FONTE>FI</COD_FONTE>
    <FONTE>Fiera</FONTE>
  </Table>
  <Table>
    <CDA_PROGETTO>ic.acme</CDA_PROGETTO>
    <COD_DITTA>ACME</COD_DITTA>
    <COD_LEAD>L0099</COD_LEAD>
    <DESCRIZIONE1>Verdi Snc</DESCRIZIONE1>
    <TELEFONO>011 555</TELEFONO>
  </Table>
</NewDataSet>
"""

LEAD_NOTES_XML = """<?xml version="1.0" standalone="yes"?>
<NewDataSet>
  <Table>
    <ID>31</ID>
    <COD_DITTA>ACME</COD_DITTA>
    <COD_LEAD>L0099</COD_LEAD>
    <PROGRESSIVO>1</PROGRESSIVO>
    <TIPO_NOTA>Telefonata</TIPO_NOTA>
    <NOTA>Richiamare a gennaio</NOTA>
    <COD_AGENTE>AG1</COD_AGENTE>
    <DAT_INSERT>2026-11-20T09:15:00.0000000+01:00</DAT_INSERT>
  </Table>
</NewDataSet>
"""
