"""The fidelity corpus: for each public writer, files with its column sets and value shapes.

Every Sample is one file a writer produces: the header exactly as that writer writes it
(names and order), rows of synthetic values in the writer's shapes, and the place in the
writer the columns come from (README.md in this folder explains the writers). Values
not pinned by a sample are filled by `_fill` within the documented type and length, so a
sample fails only because of its columns or of the shapes it pins on purpose.

`departs` names how a sample departs from the documentation pages: its values are longer
or more precise than documented, which the judge accepts with a warning.
`refused` names the rule a writer breaks on purpose (a documented writer bug).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from formats import get_layout, layout_for_filename
from formats.fieldtypes import DAT_ULT_MOD, DAT_ULT_MOD_VALUE, Field
from formats.layout import Layout

COMPANY = "ACME"


@dataclass(frozen=True)
class Sample:
    writer: str  # AMH, CIB, CIC or DOCS (the vendor's examples on IW and DI)
    file: str  # the file name the writer gives it
    source: str  # where, in the writer, the columns and shapes come from
    header: str  # exactly as the writer writes it
    pinned: dict[str, tuple[str, ...]] = field(default_factory=dict)  # column -> row values
    rows: tuple[str, ...] = ()  # verbatim rows (then `pinned` is not used)
    departs: str = ""  # longer/more precise than documented: published with a warning
    refused: str = ""  # the rule this file breaks (a writer's bug), checked to be refused
    bom: bool = True  # .NET StreamWriter(Encoding.UTF8) and CsvHelper write a BOM
    eol: str = "\r\n"
    variant: str = ""  # tells apart two samples of one writer and file

    @property
    def id(self) -> str:
        return f"{self.writer}-{self.file.removesuffix('.dat')}" + (
            f"-{self.variant}" if self.variant else "")

    @property
    def layout(self) -> Layout:
        found = layout_for_filename(self.file)
        assert found is not None, self.file
        return found

    @property
    def columns(self) -> list[str]:
        return self.header.split("|")

    def text(self) -> str:
        body = list(self.rows) if self.rows else _fill(self)
        head = [self.header] if self.header else []  # legacy AM_* files have none
        return self.eol.join([*head, *body]) + self.eol

    def data(self) -> bytes:
        return (b"\xef\xbb\xbf" if self.bom else b"") + self.text().encode("utf-8")


# ----------------------------------------------------------------------------- filling
_TEXT = {"PROVINCIA": "FC", "PR": "FC", "CAP": "47521", "CITTA": "CESENA", "NAZIONE": "ITALIA",
         "UM": "PZ", "UM1": "PZ", "UM2": "CF", "COD_UM": "PZ", "ULT_UM": "PZ",
         "EMAIL": "info@acme.it", "MAIL": "info@acme.it", "EMAIL1": "info@acme.it",
         "INTERNET": "http://www.acme.it", "PEC": "acme@pec.it",
         "TELEFONO": "0547 123456", "TELEFONO1": "0547 123456", "FAX": "0547 654321",
         "CELLULARE": "346 2738888", "INDIRIZZO": "VIA MARCUZZI, 8", "CODICE_FISCALE":
         "RSSMRA70A01C573X", "PARTITA_IVA": "01234567890", "COD_LINGUA": "EN",
         "TIPO_SCONTO1": "S", "TIPO_SCONTO2": "C"}


def _value(f: Field | None, column: str, i: int) -> str:
    """A value of row i (1-based) within the documented type and length of `f`."""
    if column == DAT_ULT_MOD:
        return DAT_ULT_MOD_VALUE
    if column == "TIPO_CLIFOR":
        return str((i - 1) % 2)  # 0 customer, 1 supplier
    if f is None or not f.typed:
        up = column
        if up.startswith("FLG_"):
            return "0"
        if up.startswith(("DATA_", "DAT_")):
            return f"0{i}022019"
        if up.startswith("ORA_"):
            return f"0{i}:30"
        if any(p in up for p in ("QTA", "PZ_", "MULTIPLO", "IMPORTO", "NETTO", "SCONTO")):
            return f"{i}2,0000"
        if f is not None and (f.key_like or f.required):
            return f"{column[:3]}{i}"
        return f"Testo {i}"
    if f.kind == "C":
        if column in _TEXT:
            return _TEXT[column][:f.length]
        if f.key_like or f.required or f.length < 8:
            return f"{column[0]}{i}"[:f.length]
        return f"Testo {column.lower()} {i}"[:f.length]
    if f.kind == "I":
        return str(i)
    if f.kind == "D":
        return f"{i}2,5" if f.scale else f"{i}2"
    if f.kind == "L":
        return f"44.13755{i}"
    if f.kind == "Dt":
        return f"0{i}022019"
    if f.kind == "DT":
        return f"0{i}0220191{i}3000"
    return "0" if i % 2 else "-1"  # F


def _fill(s: Sample) -> list[str]:
    layout = s.layout
    rows = []
    n = max([len(v) for v in s.pinned.values()] + [2])
    for i in range(1, n + 1):
        values = []
        for col in s.columns:
            if col in s.pinned:
                values.append(s.pinned[col][i - 1])
            elif col == "CHIAVE":
                values.append(f"{COMPANY}§{s.file.removesuffix('.dat')}§{i}")
            elif col == "COD_DITTA":
                values.append(COMPANY)
            else:
                f = layout.field_for(col)
                value = _value(f, col, i)
                assert f is None or f.is_valid(value), (s.id, col, value)
                values.append(value)
        rows.append("|".join(values))
    return rows


def _h(*parts: str) -> str:
    return "|".join(parts)


# ----------------------------------------------------------------------------- CIC
# GiesseDatiSrl/Connettore-iC BEIEIBUS/BEIEIBUS.vb, Elabora_Export<Name>: StreamWriter
# (UTF-8, BOM, CRLF) with the header literal in the code, or CsvHelper (same bytes) with
# the header from csv.WriteField calls.
_CIC = "GiesseDatiSrl/Connettore-iC BEIEIBUS.vb Elabora_Export"
CODE_TABLE = "CHIAVE|COD_DITTA|CODICE|DESCRIZIONE"
CLIFOR_GEN_CIB = _h(
    "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|RAG_SOC|INDIRIZZO|PARTITA_IVA|CODICE_FISCALE",
    "TELEFONO1|TELEFONO2|FAX|CELLULARE|EMAIL|INTERNET|CAP|CITTA|PROVINCIA|LATITUDINE",
    "LONGITUDINE|COD_CLASSE_SCONTO|FLG_MOD_NEL_DISP|FLG_DEPERIBILITA|COD_CAT_EXTRA_SCONTO",
    "NAZIONE|PAGAMENTO|BANCA|AGENZIA|LISTINO_ANAGRAFICO|VALUTA|SCONTI_ANAG_PERC",
    "SCONTI_ANAG_IMP|MAGGIORAZIONE_ANAG_PERC|SCONTO_PIEDE|COD_LISTINO|COD_CONDPAG|COD_VALUTA",
    "MACROAREA|DATA_CREAZIONE|ZONA|CATEGORIA|DATA_ULT_DOC_FT|DATA_ULT_ORDINE|FIDO_AZIENDALE",
    "FLG_NEW_CLIFOR|TAG|DAT_ULT_MOD")
CLIFOR_GEN_CIC = CLIFOR_GEN_CIB.replace("|ZONA|", "|ZONA|COD_CATEGORIA|")
LEADS = _h(
    "CHIAVE|COD_DITTA|COD_LEAD|COD_CLIFOR|DESCRIZIONE1|DESCRIZIONE2|INDIRIZZO|CITTA|CAP",
    "PROVINCIA|DES_PROVINCIA|DES_NOTE|PARTITA_IVA|CODICE_FISCALE|TELEFONO|FAX|CELLULARE",
    "EMAIL|INTERNET|LATITUDINE|LONGITUDINE|FLG_MOD_NEL_DISP|COD_CATEGORIA|CATEGORIA",
    "COD_ZONA|ZONA|DATA_ULT_OFFERTA|DATA_CREAZIONE|BANCA1|BANCA2|COD_LISTINO|LISTINO",
    "COD_PRIVACY|DES_PRIVACY|COD_CONTATTATO|DES_CONTATTATO|COD_NON_INTERESSATO",
    "DES_NON_INTERESSATO|NAZIONE|COD_STATUS|STATUS|DAT_ULT_MOD")
LEAD_TESTOFF = _h(
    "CHIAVE|COD_DITTA|COD_LEAD|COD_CLIFOR|ANNO|SERIE|NUMERO|REVISIONE|DATA|REFERENTE",
    "RIFERIMENTO|OGGETTO|COD_OPPORTUNITA|DES_OPPORTUNITA|GG_VALIDITA|COD_TIPO_OPERAZIONE",
    "DES_TIPO_OPERAZIONE|COD_LISTINO|DES_LISTINO|COD_PAGAMENTO|DES_PAGAMENTO|DATA_CONSEGNA",
    "GG_CONSEGNA|DES_CONSEGNA|NOTE|RILASCIATO|STAMPATO|CONFERMATO|RIFIUTATO|EVASO|ANNULLATO",
    "CHIUSO|COD_VALUTA|TOTALE_OFFERTA|DAT_ULT_MOD")
LEAD_RIGHOFF = _h(
    "CHIAVE|CHIAVE_TESTATA|COD_DITTA|COD_LEAD|PRG_RIGA|COD_RIGA|DES_RIGA|COD_UM|QTA",
    "PRZ_LORDO|PRZ_NETTO|COD_VALUTA|IMPORTO|SC_1|SC_2|SC_3|SC_4|SC_5|SC_6|DATA_CONFERMA",
    "COD_CLIFOR|DAT_ULT_MOD")
DETCON = _h(
    "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|ID_CONTATTO|TIPO_CONTATTO|PREF|COGNOME_NOME",
    "NOME|INDIRIZZO|CAP|CITTA|PR|ORARIO_LAVORO|TELEFONO1|TELEFONO2|CELLULARE1|CELLULARE2",
    "TELEF_CASA|FAX|EMAIL1|EMAIL2|ALTRO_INDIRIZZO1|ALTRO_INDIRIZZO2|NOTE|DAT_ULT_MOD")
LEAD_DETCON = _h("CHIAVE|COD_DITTA|COD_LEAD|COD_CONTATTO|TIPO_CONTATTO|COGNOME|NOME",
                 "INDIRIZZO|CAP|CITTA|PROVINCIA|TELEFONO|CELLULARE|FAX|EMAIL|DAT_ULT_MOD")
SCADOC = _h(
    "CHIAVE|COD_DITTA|NUM_REG|COD_RATA|DAT_SCAD|IMPORTO|NETTO_PREV|DES_TIPO|DES_STATO",
    "DES_TIPO_PRES|DES_OPERAZIONE|FLG_DA_LIB|FLG_SOSP|DES_BANCA_AGENZIA|TIPO_CLIFOR",
    "COD_CLIFOR|COD_VALUTA|DATA_DOC|NUM_DOC|DES_SCAD|DAT_ULT_MOD")
TESTDOC_CIC = _h(
    "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|COD_TIPODOC|COD_STIPODOC|DATA_DOC|NUMREG",
    "TIPODOC|TIPO|SOTTOTIPO|SEZIONALE|NUM_DOC|DEPOSITO|TOTALEDOC|TIPOSTATO_DOC",
    "DESSTATO_DOC|DATA_FATT|NUM_FATT|DES_DOC|DES_NOTE|COD_VALUTA|DAT_ULT_MOD")
TESTDOC_CIB = _h(
    "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|COD_TIPODOC|COD_STIPODOC|FLGDAEVADERE|DATA_DOC",
    "NUMREG|TIPODOC|TIPO|SOTTOTIPO|DATAREG|SEZIONALE|NUM_DOC|DOCORIG|DEPOSITO|VALUTA",
    "TOTALEDOC|DATACONS|SCADENZE|ESTCONT|TIPOSTATO_DOC|DESSTATO_DOC|DATA_FATT|NUM_FATT",
    "DES_DOC|DES_NOTE|COD_VALUTA|DAT_ULT_MOD")
RIGHDOC_CIB = _h(
    "CHIAVE|COD_DITTA|NUM_REG|PRG_RIGA|COD_RIGA|DES_RIGA|COD_UM|QTA|PRZ_LORDO|PRZ_NETTO",
    "IMPORTO|SC_1|SC_2|TIPO_CLIFOR|COD_CLIFOR|COD_VALUTA|DAT_ULT_MOD")
RIGHDOC_CIC = RIGHDOC_CIB.replace("|NUM_REG|", "|NUM_REG|COD_ART|")
ART_CIB = _h(
    "CHIAVE|COD_DITTA|COD_ART|DES_ART|COD_FAM|DES_FAM|COD_SFAM|DES_SFAM|COD_GRUPPO1",
    "DES_GRUPPO1|COD_GRUPPO2|DES_GRUPPO2|UM1|UM2|FATTORE_CONVERSIONE|DES_GR_STAT1",
    "DES_GR_STAT2|QTA_MIN_VEND|COD_CLASSE_SCONTO|COD_DEPERIBILITA|PREZZO_MIN_VEN",
    "SCONTO_MAX_VEN|MAX_EXTRA_SCONTO|DAT_ULT_MOD")
ART_CIC = ART_CIB.replace("|DAT_ULT_MOD",
                          "|DES_FILTRO1|DES_FILTRO2|DES_FILTRO3|FLG_LOCK_UM_DEFAULT|DAT_ULT_MOD")
ART_UM_CIB = "CHIAVE|COD_DITTA|COD_ART|UM|DESC_UM|FAT_CONV|TIPO_UM|DAT_ULT_MOD"
ART_UM_CIC = ART_UM_CIB.replace("|TIPO_UM|", "|TIPO_UM|FLG_DEFAULT|")
ULT_CIC = "CHIAVE|COD_DITTA|COD_ART|PROG|PRZ|DATA_DOC|NUM_DOC|COD_CLFOR|COD_VALUTA|DAT_ULT_MOD"
ULTVEN_CIB = "CHIAVE|COD_DITTA|COD_ART|PROG|VALUTA|PRZ|DATA_DOC|NUM_DOC|COD_CLFOR|DAT_ULT_MOD"
ULTACQ_CIB = ULTVEN_CIB.replace("|COD_CLFOR|", "|COD_CLFOR|TIPO_DOC|")
STOART_CIB = _h(
    "CHIAVE|COD_DITTA|COD_CLIFOR|COD_ART|DESC_ARTICOLO|NUM_RIGHE|ULT_NUM_REG|ULT_PROG_RIGA",
    "ULT_QTA|ULT_PRZ|ULT_UM|ULT_QTA2|ULT_PRZ2|ULT_UM2|COD_DEST|ULT_SC_PER1|ULT_SC_PER2",
    "ULT_SC_PER3|ULT_SC_PER4|ULT_SC_PER5|ULT_SC_PER6|ULT_SC_IMPORTO|ULT_MAG_PER1",
    "ULT_MAG_PER2|ULT_MAG_IMPORTO|ULT_DATA|DAT_ULT_MOD")
STOART_CIC = STOART_CIB.replace("|ULT_DATA|", "|ULT_DATA|COD_VALUTA|")
LISTINI = _h(
    "CHIAVE|COD_DITTA|TIPO_LISTINO|COD_ART|TIPO_CLIFOR|COD_CLIFOR|COD_LISTINO",
    "QUANTITA_INIZIO|QUANTITA_FINE|DATA_INIZIO|DATA_FINE|PREZZO|PRIORITA|SCONTO1|SCONTO2",
    "SCONTO3|SCONTO4|SCONTO5|SCONTO6|SCONTO_IMP|MAG_PERC1|MAG_PERC2|MAG_IMP|IND_GES_PREZZO",
    "IND_GES_SC1_PER|IND_GES_SC2_PER|IND_GES_SC3_PER|IND_GES_SC4_PER|IND_GES_SC5_PER",
    "IND_GES_SC6_PER|IND_GES_SC_IMP|IND_GES_MAG1_PER|IND_GES_MAG2_PER|IND_GES_MAG_IMP",
    "FLG_ESCLUDI_SCONTI|COD_VALUTA|DAT_ULT_MOD")
SCONTI = _h(
    "CHIAVE|COD_DITTA|COD_ART|TIPO_CLIFOR|COD_CLIFOR|CLASSE_ARTICOLO|DES_CLASSE_ARTICOLO",
    "CLASSE_CLIENTE|DES_CLASSE_CLIENTE|COD_PROMO|QUANTITA_INIZIO|QUANTITA_FINE|DATA_INIZIO",
    "DATA_FINE|PRIORITA|SCONTO1|SCONTO2|SCONTO3|SCONTO4|SCONTO5|SCONTO6|TIPO_SCONTO1",
    "TIPO_SCONTO2|TIPO_SCONTO3|TIPO_SCONTO4|TIPO_SCONTO5|TIPO_SCONTO6|DAT_ULT_MOD")
CATALOGO = "NOMEFILE|TITOLO|COD_ART|L1|L2|L3|L4|DAT_ULT_MOD"
INFO_ROWS = ("Tracciati|1.9", "Rivenditore|Giesse Dati", f"Clienti|{COMPANY}",
             "Release|20180601", "Estrazione|02022019-2300", "Assembly|2.3.1.0")

# The shapes both NTS connectors write (NTSCDec(x).ToString("0.0000") on an Italian
# Windows, keys joined with §, the ERP's codes as numbers, "0" for unused numbers).
NTS_SHAPES: dict[str, dict[str, tuple[str, ...]]] = {
    "io_art": {"COD_ART": ("A1001", "A1002.1"), "FATTORE_CONVERSIONE": ("0,0000", "12,0000"),
               "QTA_MIN_VEND": ("0", "0"), "PREZZO_MIN_VEN": ("0,0000", "10,5000"),
               "SCONTO_MAX_VEN": ("", "15,0000"), "MAX_EXTRA_SCONTO": ("0,000000", "0,000000"),
               "COD_DEPERIBILITA": ("P", "A"), "COD_FAM": ("12", "3"),
               "FLG_LOCK_UM_DEFAULT": ("0", "-1")},
    "io_art_um": {"FAT_CONV": ("", "12,0000"), "TIPO_UM": ("1", "3"),
                  "DESC_UM": ("Pezzi", "Cartone (12)"), "FLG_DEFAULT": ("-1", "0")},
    "io_art_ultven": {"PROG": ("1", "2"), "PRZ": ("12,5000", "0,0000"),
                      "NUM_DOC": ("1234", "1235"), "COD_CLFOR": ("11010109", "11010110"),
                      "COD_VALUTA": ("0", "0"), "VALUTA": ("", "")},
    "io_stoart": {"ULT_QTA": ("12,00000", "1,50000"), "ULT_PRZ": ("3,25000", "0,00000"),
                  "NUM_RIGHE": ("1", "1"), "ULT_NUM_REG": ("0", "0"),
                  "ULT_PROG_RIGA": ("0", "0"), "ULT_QTA2": ("1,00000", "0,00000"),
                  "ULT_PRZ2": ("", ""), "COD_DEST": ("", "2"), "ULT_SC_PER1": ("10,00", "0,00"),
                  "ULT_SC_IMPORTO": ("0", "0"), "COD_VALUTA": ("0", "0")},
    "io_giacenze": {"COD_DEPOSITO": ("1", "2"), "GIACENZA": ("120,0000", "-3,0000"),
                    "DISPONIBILITA": ("100,0000", "0,0000")},
    "io_listini_full": {"TIPO_LISTINO": ("0", "0"), "TIPO_CLIFOR": ("0", "0"),
                        "PREZZO": ("12,50000000", "0,83333333"), "QUANTITA_INIZIO":
                        ("0,00", "10,00"), "IND_GES_PREZZO": ("4", "4"),
                        "FLG_ESCLUDI_SCONTI": ("N", "S"), "COD_VALUTA": ("0", "0")},
    "io_sconti": {"SCONTO1": ("10,00", "5,00"), "QUANTITA_INIZIO": ("0,00", "0,00"),
                  "TIPO_SCONTO1": ("S", "S"), "COD_ART": ("", "A1001")},
    "io_clifor_gen": {"TIPO_CLIFOR": ("0", "1"), "LATITUDINE": ("", ""),
                      "LONGITUDINE": ("", ""), "FLG_MOD_NEL_DISP": ("-1", "0"),
                      "LISTINO_ANAGRAFICO": ("1 - Listino base", "2 - Ingrosso"),
                      "SCONTI_ANAG_PERC": ("0", "0"), "SCONTI_ANAG_IMP": ("0", "0"),
                      "MAGGIORAZIONE_ANAG_PERC": ("0", "0"), "FIDO_AZIENDALE": ("1500,00", "0,00"),
                      "COD_VALUTA": ("0", "0"), "VALUTA": ("Euro", "Euro"),
                      "FLG_NEW_CLIFOR": ("0", "-1"), "TAG": ("ROSSI", "")},
    "io_clifor_blo": {"COD_BLOCCO": ("0", "0"), "TIPO_BLOCCO": ("N", "S"),
                      "DATA_BLOCCO": ("", "")},
    "io_clifor_detcon": {"PREF": ("1", "1"), "ORARIO_LAVORO": ("", ""), "TELEFONO2": ("", "")},
    "io_clifor_note": {"NOTA": ("Consegna al mattino§Citofono 3", "")},
    "io_clifor_scadoc": {"NUM_REG": ("A§1§19§ §12", "A§1§19§ §13"),
                         "IMPORTO": ("1220,50", "-100,00"), "NETTO_PREV": ("0", "0"),
                         "DES_STATO": ("Aperto", "Chiuso"), "DES_TIPO_PRES": ("", ""),
                         "DES_OPERAZIONE": ("Insol.", ""), "FLG_DA_LIB": ("0", "0"),
                         "FLG_SOSP": ("0", "0"), "COD_VALUTA": ("0", "0"),
                         "NUM_DOC": ("12/A", "13"), "DES_SCAD": ("Fattura 12", "Fattura ")},
    "io_clifor_testdoc": {"NUMREG": ("A§1§19§A§12", "A§1§19§ §7§R"),
                          "TIPODOC": ("A", "R"), "COD_TIPODOC": ("70", "73"),
                          "COD_STIPODOC": ("1", "12"), "TOTALEDOC": ("1220,50", "80,00"),
                          "TIPOSTATO_DOC": ("1", "0"), "DESSTATO_DOC": ("Evaso", "Da evadere"),
                          "DATA_FATT": ("", ""), "COD_VALUTA": ("0", "0")},
    "io_clifor_righdoc": {"NUM_REG": ("A§1§19§A§12", "A§1§19§A§12"),
                          "COD_RIGA": ("A1001", "A1002.1"), "QTA": ("12,00000", "1,50000"),
                          "PRZ_LORDO": ("0", "0"), "PRZ_NETTO": ("3,2500", "12,0000"),
                          "IMPORTO": ("39,00", "18,00"), "SC_1": ("0,00", "10,00"),
                          "COD_VALUTA": ("0", "0")},
    "io_clifor_fatt": {"ANNO": ("2018", "2019"), "MESE": ("12", "1"),
                       "FATTURATO": ("15230,45", "0,00"), "COD_VALUTA": ("0", "0")},
    "io_leads": {"LATITUDINE": ("", ""), "LONGITUDINE": ("", ""),
                 "FLG_MOD_NEL_DISP": ("0", "0"), "DATA_CREAZIONE": ("", ""),
                 "COD_PRIVACY": ("S", "N"), "COD_CONTATTATO": ("S", "N"),
                 "COD_NON_INTERESSATO": ("N", "N")},
    "io_lead_testoff": {"COD_CLIFOR": ("", ""), "ANNO": ("2019", "2019"),
                        "RILASCIATO": ("S", "N"), "TOTALE_OFFERTA": ("1220,5000", "0,0000"),
                        "NOTE": ("Prima riga§seconda riga", "")},
    "io_lead_righoff": {"QTA": ("2,00000", "1,00000"), "PRZ_LORDO": ("10,0000", "5,0000"),
                        "PRZ_NETTO": ("9,0000", "5,0000"), "IMPORTO": ("18,00", "5,00"),
                        "SC_1": ("10,00", "0,00")},
    "io_lead_accessi": {"FLG_VISUALIZZA": ("S", "S"), "FLG_MODIFICA": ("N", "S")},
    "io_lead_acccrm": {"FLG_VISUALIZZA": ("S", "S"), "FLG_MODIFICA": ("N", "S")},
    "io_attivita": {"COD_ATTIVITA": ("41", "41"), "COD_OPERATORE": ("MARIO", "LUCA"),
                    "DATA_PREVISTA": ("04022019", ""), "ORA_PREVISTA": ("14:55", ""),
                    "COD_STATO": ("D", "E"), "DATA_ESECUZIONE": ("", "05022019"),
                    "ORA_ESECUZIONE": ("", "04:05")},
    "io_tipi_attivita": {"FLG_PREVISIONALE": ("S", "N")},
    "io_catalogo": {"NOMEFILE": ("A1001.jpg", "empty-image.jpg"), "L1": ("Sedie", "Tavoli"),
                    "L4": ("", "")},
    "io_reports": {"NOMEFILE": ("ACME§A§12", "ACME§C§1100001"),
                   "TITOLO": ("C:\\Bus\\Doc\\scheda.pdf", "C:\\Bus\\Doc\\listino.pdf"),
                   "COD_ART": ("A1001", ""), "L1": ("Articoli", "Clienti"),
                   "L2": ("Tutti", "Tutti")},
}


def _nts(writer: str, file: str, header: str, where: str, **kw: object) -> Sample:
    name = file.removesuffix(".dat")
    shapes = {k: v for k, v in NTS_SHAPES.get(name, NTS_SHAPES.get(
        name.replace("ultacq", "ultven"), {})).items() if k in header.split("|")}
    pinned = dict(shapes, **kw.pop("pinned", {}))  # type: ignore[arg-type]
    repo = "GiesseDatiSrl/Connettore-iC" if writer == "CIC" else "mattiamanzati/ConnettoreiB"
    return Sample(writer, file, f"{repo} BEIEIBUS.vb {where}", header, pinned=pinned,
                  **kw)  # type: ignore[arg-type]


def _nts_common(writer: str) -> list[Sample]:
    """The files CIB and CIC write with the same columns."""
    w = writer
    return [
        _nts(w, "io_condpag.dat", "CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|DAT_ULT_MOD",
             "Elabora_ExportCodpaga"),
        _nts(w, "io_citta.dat", "CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|PROVINCIA|DAT_ULT_MOD",
             "Elabora_ExportComuni, SQL Export/GetComuni.sql",
             pinned={"CODICE": ("A001", "C573"), "CAP": ("35031", "")}),
        _nts(w, "io_nazioni.dat", CODE_TABLE, "Elabora_ExportNazioni"),
        _nts(w, "io_classi_sconto.dat", CODE_TABLE, "Elabora_ExportClassiSconto"),
        _nts(w, "io_canali_vendita.dat", CODE_TABLE, "Elabora_ExportCanaliVendita"),
        _nts(w, "io_clifor_cate.dat", CODE_TABLE, "Elabora_ExportCliforCate"),
        _nts(w, "io_porto.dat", CODE_TABLE, "Elabora_ExportPorto"),
        _nts(w, "io_agenti.dat", "CHIAVE|COD_DITTA|COD_AGENTE|DES_AGENTE",
             "Elabora_ExportAgenti"),
        _nts(w, "io_clifor_blo.dat", "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|COD_BLOCCO|"
             "TIPO_BLOCCO|NOTA_BLOCCO|DATA_BLOCCO|DAT_ULT_MOD", "Elabora_ExportCliforBlo"),
        _nts(w, "io_clifor_dest.dat", "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|PREFERENZIALE|"
             "COD_DEST|RAG_SOC_DEST|INDIRIZZO|CAP|CITTA|PROVINCIA|STAMPA_PREF_DOC|TELEFONO|"
             "CELLULARE|MAIL|FAX|NOTE_DEST|DAT_ULT_MOD", "Elabora_ExportCliforDestdiv"),
        _nts(w, "io_clifor_age.dat", "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|COD_AGE|"
             "RAGSOC_AGE|PREFERENZIALE|DAT_ULT_MOD", "Elabora_ExportCliforAge"),
        _nts(w, "io_clifor_note.dat", "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|PROGRESSIVO|"
             "TIPO_NOTA|NOTA|DAT_ULT_MOD", "Elabora_ExportCliforNote"),
        _nts(w, "io_clifor_detcon.dat", DETCON, "Elabora_ExportCliforDettCon"),
        _nts(w, "io_leads.dat", LEADS, "Elabora_ExportLeads"),
        _nts(w, "io_lead_note.dat", "CHIAVE|COD_DITTA|COD_LEAD|PROGRESSIVO|TIPO_NOTA|NOTA|"
             "DAT_ULT_MOD", "Elabora_ExportLeadNote"),
        _nts(w, "io_lead_detcon.dat", LEAD_DETCON, "Elabora_ExportLeadDetCon"),
        _nts(w, "io_lead_acccrm.dat", "CHIAVE|COD_DITTA|COD_OPERATORE|COD_OPERATORE_FIGLIO|"
             "FLG_VISUALIZZA|FLG_MODIFICA|DAT_ULT_MOD", "Elabora_ExportLeadAccessiCrm"),
        _nts(w, "io_lead_cate.dat", "CHIAVE|COD_DITTA|COD_CATEGORIA|DES_CATEGORIA",
             "Elabora_ExportLeadCate"),
        _nts(w, "io_campagne.dat", "CHIAVE|COD_DITTA|COD_CAMPAGNA|DES_CAMPAGNA|DAT_ULT_MOD",
             "Elabora_ExportCampagne"),
        _nts(w, "io_lead_mod_acquisizione.dat",
             "CHIAVE|COD_DITTA|COD_ACQUISIZIONE|DES_ACQUISIZIONE",
             "Elabora_ExportLeadModAcquisizione"),
        _nts(w, "io_lead_concorrenti.dat", "CHIAVE|COD_DITTA|COD_CONCORRENTE|DES_CONCORRENTE",
             "Elabora_ExportLeadConcorrenti"),
        _nts(w, "io_lead_mansioni.dat", "CHIAVE|COD_DITTA|COD_MANSIONE|DES_MANSIONE",
             "Elabora_ExportLeadMansioni"),
        _nts(w, "io_lead_testoff.dat", LEAD_TESTOFF, "Elabora_ExportLeadTestOff"),
        _nts(w, "io_lead_righoff.dat", LEAD_RIGHOFF, "Elabora_ExportLeadRighOff"),
        _nts(w, "io_clifor_scadoc.dat", SCADOC, "Elabora_ExportCliforScadoc, SQL Export/"
             "GetCliforScaDoc.sql"),
        _nts(w, "io_giacenze.dat", "CHIAVE|COD_DITTA|COD_ARTICOLO|COD_DEPOSITO|DES_DEPOSITO|"
             "GIACENZA|DISPONIBILITA|UM1|DAT_ULT_MOD", "Elabora_ExportArtGiacenze"),
        _nts(w, "io_listini_full.dat", LISTINI, "Elabora_ExportListini"),
        _nts(w, "io_sconti.dat", SCONTI, "Elabora_ExportSconti"),
        _nts(w, "io_catalogo.dat", CATALOGO, "Elabora_ExportCatalogo"),
        _nts(w, "io_reports.dat", CATALOGO, "Elabora_ExportOleObjects, SQL Export/"
             "GetOleObjects.sql"),
        _nts(w, "io_info.dat", "DESCRIZIONE|VALORE", "Elabora_ExportInfo", rows=INFO_ROWS),
    ]


CIC = _nts_common("CIC") + [
    _nts("CIC", "io_tipi_attivita.dat", "CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|FLG_PREVISIONALE",
         "Elabora_ExportTipiAttivita (CsvHelper), SQL Export/GetTipiAttivita.sql"),
    _nts("CIC", "io_attivita.dat", _h(
        "CHIAVE|COD_DITTA|COD_ATTIVITA|COD_LEAD|COD_TIPO_ATTIVITA|DES_OGGETTO|DATA_PREVISTA",
        "ORA_PREVISTA|DES_NOTE_ATTIVITA|COD_OPERATORE|COD_STATO|DATA_ESECUZIONE",
        "ORA_ESECUZIONE|DES_NOTE|DAT_ULT_MOD"),
        "Elabora_ExportAttivita (CsvHelper), SQL Export/GetAttivita.sql"),
    _nts("CIC", "io_lead_accessi.dat", "CHIAVE|COD_DITTA|COD_OPERATORE|COD_LEAD|FLG_VISUALIZZA|"
         "FLG_MODIFICA|DAT_ULT_MOD", "Elabora_ExportLeadAccessi (CsvHelper)"),
    _nts("CIC", "io_clifor_gen.dat", CLIFOR_GEN_CIC, "Elabora_ExportCliforGen"),
    _nts("CIC", "io_clifor_testdoc.dat", TESTDOC_CIC, "Elabora_ExportCliforTestDoc"),
    _nts("CIC", "io_clifor_righdoc.dat", RIGHDOC_CIC, "Elabora_ExportCliforRighDoc"),
    _nts("CIC", "io_clifor_fatt.dat", "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|ANNO|MESE|"
         "COD_VALUTA|FATTURATO|DAT_ULT_MOD", "Elabora_ExportCliforFatt"),
    _nts("CIC", "io_art.dat", ART_CIC, "Elabora_ExportArt"),
    _nts("CIC", "io_art_um.dat", ART_UM_CIC, "Elabora_ExportArtUM"),
    _nts("CIC", "io_art_lang.dat", "CHIAVE|COD_DITTA|COD_ART|COD_LINGUA|DES_ART|DAT_ULT_MOD",
         "Elabora_ExportArtLingua"),
    _nts("CIC", "io_art_ultven.dat", ULT_CIC, "Elabora_ExportArtUltVen"),
    _nts("CIC", "io_art_ultacq.dat", ULT_CIC, "Elabora_ExportArtUltAcq"),
    _nts("CIC", "io_stoart.dat", STOART_CIC, "Elabora_ExportArtStoart"),
]

CIB = _nts_common("CIB") + [
    _nts("CIB", "io_clifor_gen.dat", CLIFOR_GEN_CIB, "Elabora_ExportCliforGen"),
    _nts("CIB", "io_clifor_testdoc.dat", TESTDOC_CIB, "Elabora_ExportCliforTestDoc, SQL Export/"
         "GetCliforTestDoc.sql", pinned={"FLGDAEVADERE": ("1", "0"), "VALUTA": ("Euro", ""),
                                          "DATAREG": ("", ""), "DOCORIG": ("", "")}),
    _nts("CIB", "io_clifor_righdoc.dat", RIGHDOC_CIB, "Elabora_ExportCliforRighDoc"),
    _nts("CIB", "io_clifor_fatt.dat", "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|ANNO|MESE|"
         "FATTURATO|DAT_ULT_MOD", "Elabora_ExportCliforFatt"),
    _nts("CIB", "io_art.dat", ART_CIB, "Elabora_ExportArt"),
    _nts("CIB", "io_art_um.dat", ART_UM_CIB, "Elabora_ExportArt (IB_ART_UM block)"),
    _nts("CIB", "io_art_conf.dat", "CHIAVE|COD_ART|COD_DITTA|COD_CONF|PZ_CONF|FLG_PREF|"
         "DAT_ULT_MOD", "Elabora_ExportArt (IB_ART_CONF block)",
         pinned={"PZ_CONF": ("12,0000", "6,0000"), "FLG_PREF": ("1", "1")}),
    _nts("CIB", "io_art_ultven.dat", ULTVEN_CIB, "Elabora_ExportArtUltVen, SQL Export/"
         "GetArtUltVen.sql"),
    _nts("CIB", "io_art_ultacq.dat", ULTACQ_CIB, "Elabora_ExportArtUltAcq, SQL Export/"
         "GetArtUltAcq.sql", pinned={"TIPO_DOC": ("", "")}),
    _nts("CIB", "io_stoart.dat", STOART_CIB, "Elabora_ExportArtStoart"),
]

# ----------------------------------------------------------------------------- AMHelper
# wedoit-io/AMHelper src/net20/AMHelper/CSV/imp/rec_*.cs (CSV/rec_*.cs for the older
# classes): the header is the class's properties in declaration order, the file name the
# one CSV/NomiTracciati.cs gives the class (or, where it gives none, CIC's or the pages').
_AMH_CLASSES: dict[str, tuple[str, str]] = {
    "io_art.dat": ("imp/rec_art.cs", _h(
        "CHIAVE|COD_DITTA|COD_ART|DES_ART|COD_FAM|DES_FAM|COD_SFAM|DES_SFAM|COD_GRUPPO1",
        "DES_GRUPPO1|COD_GRUPPO2|DES_GRUPPO2|UM1|UM2|COD_STATO|DES_STATO",
        "FATTORE_CONVERSIONE|DES_GR_STAT1|DES_GR_STAT2|QTA_MIN_VEND|COD_CLASSE_SCONTO",
        "COD_DEPERIBILITA|PREZZO_MIN_VEN|SCONTO_MAX_VEN|MAX_EXTRA_SCONTO|PREZZO_RETAIL",
        "DES_FILTRO1|DES_FILTRO2|DES_FILTRO3|DES_FILTROA|DES_FILTROB|DES_FILTROC",
        "COD_SVILUPPO_BASE|FLG_LOCK_UM_DEFAULT|DES_ESTESA|DAT_ULT_MOD|COD_ART_PADRE",
        "FLG_CATALOGO|FLG_REDDITTIVITA|FLG_KIT|FLG_ORDINABILE|DES_CLA_PROV")),
    "io_art_barcode.dat": ("imp/rec_art_barcode.cs",
                           "CHIAVE|COD_DITTA|COD_ART|BARCODE|UM|QTA|TIPO_BARCODE|DAT_ULT_MOD"),
    "io_art_lang.dat": ("imp/rec_art_lang.cs",
                        "CHIAVE|COD_DITTA|COD_ART|COD_LINGUA|DES_ART|DAT_ULT_MOD"),
    "io_articoli_assortimenti.dat": ("rec_articoli_assortimenti.cs",
                                     "CHIAVE|COD_DITTA|COD_ART|COD_ASSORTIMENTO|DAT_ULT_MOD"),
    "io_art_conf.dat": ("rec_art_conf.cs",
                        "CHIAVE|COD_ART|COD_DITTA|COD_CONF|PZ_CONF|FLG_PREF|DAT_ULT_MOD"),
    "io_art_ultacq.dat": ("imp/rec_art_ultacq.cs", ULT_CIC),
    "io_art_ultven.dat": ("imp/rec_art_ultven.cs", ULT_CIC),
    "io_art_um.dat": ("imp/rec_art_um.cs and the AMHelper.xml shipped with CIC (MULTIPLO)",
                      ART_UM_CIC.replace("|FLG_DEFAULT|", "|FLG_DEFAULT|MULTIPLO|")),
    "io_assortimenti.dat": ("rec_assortimenti.cs",
                            "CHIAVE|COD_DITTA|COD_ASSORTIMENTO|DES_ASSORTIMENTO|COD_SVILUPPO|"
                            "DAT_ULT_MOD"),
    "io_campagne.dat": ("rec_campagne.cs",
                        "CHIAVE|COD_DITTA|COD_CAMPAGNA|DES_CAMPAGNA|DAT_ULT_MOD"),
    "io_citta.dat": ("rec_citta.cs",
                     "CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|PROVINCIA|DAT_ULT_MOD"),
    "io_nazioni.dat": ("imp/rec_nazioni.cs", CODE_TABLE),
    "io_clienti_assortimenti.dat": ("rec_clienti_assortimenti.cs",
                                    "CHIAVE|COD_DITTA|COD_CLIFOR|COD_ASSORTIMENTO|DAT_ULT_MOD"),
    "io_clifor_age.dat": ("imp/rec_clifor_age.cs", "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|"
                          "COD_AGE|RAGSOC_AGE|PREFERENZIALE|DAT_ULT_MOD"),
    "io_clifor_blo.dat": ("imp/rec_clifor_blo.cs", "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|"
                          "COD_BLOCCO|TIPO_BLOCCO|NOTA_BLOCCO|DATA_BLOCCO|DAT_ULT_MOD"),
    "io_clifor_dest.dat": ("rec_clifor_dest.cs", "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|"
                           "PREFERENZIALE|COD_DEST|RAG_SOC_DEST|INDIRIZZO|CAP|CITTA|PROVINCIA|"
                           "STAMPA_PREF_DOC|TELEFONO|CELLULARE|MAIL|FAX|NOTE_DEST|DAT_ULT_MOD"),
    "io_clifor_detcon.dat": ("rec_clifor_detcon.cs", DETCON),
    "io_clifor_fatt.dat": ("imp/rec_clifor_fatt.cs", "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|"
                           "ANNO|MESE|COD_VALUTA|FATTURATO|DAT_ULT_MOD"),
    "io_clifor_girovisita.dat": ("rec_clifor_girovisita.cs", "CHIAVE|COD_DITTA|COD_CLIFOR|"
                                 "COD_AGE|COD_DEST|GG_VISITA|SEQUENZA|DAT_ULT_VISITA|"
                                 "GG_ULT_VISITA|DAT_ULT_MOD"),
    "io_clifor_gen.dat": ("imp/rec_clifor_gen.cs (2022)", _h(
        "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|RAG_SOC|INDIRIZZO|PARTITA_IVA|CODICE_FISCALE",
        "TELEFONO1|TELEFONO2|FAX|CELLULARE|EMAIL|INTERNET|PEC|CAP|CITTA|PROVINCIA|LATITUDINE",
        "LONGITUDINE|COD_CLASSE_SCONTO|FLG_MOD_NEL_DISP|FLG_DEPERIBILITA|COD_CAT_EXTRA_SCONTO",
        "NAZIONE|PAGAMENTO|BANCA|IBAN|AGENZIA|LISTINO_ANAGRAFICO|COD_SVILUPPO|VALUTA",
        "SCONTI_ANAG_PERC|SCONTI_ANAG_IMP|SCO_PERC1|SCO_PERC2|SCO_PERC3|SCO_PERC4|SCO_PERC5",
        "SCO_PERC6|TAG|MAGGIORAZIONE_ANAG_PERC|SCONTO_PIEDE|COD_LISTINO|COD_CONDPAG",
        "COD_VALUTA|MACROAREA|DATA_CREAZIONE|AREA|DES_ZONA|MACROCATEGORIA|DATA_ULT_DOC_NO_FT",
        "CATEGORIA|SOTTOCATEGORIA|DATA_ULT_DOC_FT|DATA_ULT_ORDINE|FIDO_AZIENDALE|RAGGR1",
        "RAGGR2|RAGGR3|COD_MACROAREA|COD_AREA|COD_ZONA|COD_MACROCATEGORIA|COD_CATEGORIA",
        "COD_SOTTOCATEGORIA|COD_PIN_MAPPA|DES_PIN_MAPPA|TOT_MIN_ORDINABILE|FLG_NEW_CLIFOR",
        "DAT_ULT_MOD|FLG_NEGOZIO|COD_BLOCCO|COD_GIORNO_CONSEGNA|COD_TIPO_CLIENTE|DES_STATO")),
    "io_clifor_note.dat": ("rec_clifor_note.cs", "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|"
                           "PROGRESSIVO|TIPO_NOTA|NOTA|DAT_ULT_MOD"),
    "io_clifor_righdoc.dat": ("imp/rec_clifor_righdoc.cs", _h(
        "CHIAVE|COD_DITTA|NUM_REG|DATA_DOC|PRG_RIGA|COD_ART|COD_RIGA|DES_RIGA|COD_UM|QTA",
        "COD_VALUTA|PRZ_LORDO|PRZ_NETTO|IMPORTO|SC_1|SC_2|DATA_CONFERMA|TIPO_CLIFOR",
        "COD_CLIFOR|DAT_ULT_MOD")),
    "io_clifor_scadoc.dat": ("imp/rec_clifor_scadoc.cs (IMPORTO_FATT: commit 519ed56)", _h(
        "CHIAVE|NUM_REG|COD_RATA|DAT_SCAD|IMPORTO|NETTO_PREV|DES_TIPO|DES_STATO|DES_TIPO_PRES",
        "DES_OPERAZIONE|FLG_DA_LIB|FLG_SOSP|DES_BANCA_AGENZIA|TIPO_CLIFOR|COD_CLIFOR",
        "COD_DITTA|DATA_DOC|NUM_DOC|DES_SCAD|COD_VALUTA|DAT_ULT_MOD|IMPORTO_FATT")),
    "io_clifor_testdoc.dat": ("imp/rec_clifor_testdoc.cs", _h(
        "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|COD_TIPODOC|COD_STIPODOC|NUMREG|TIPODOC",
        "TIPO|SOTTOTIPO|DATAREG|SEZIONALE|DES_DOC|NUM_DOC|DES_NOTE|DATA_DOC|DOCORIG|DEPOSITO",
        "COD_VALUTA|TOTALEDOC|DATACONS|SCADENZE|ESTCONT|TIPOSTATO_DOC|DESSTATO_DOC|DATA_FATT",
        "NUM_FATT|DATA_CONSEGNA|DAT_ULT_MOD")),
    "io_condpag.dat": ("imp/rec_condpag.cs", "CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|SCONTO|"
                       "DAT_ULT_MOD"),
    "io_condpag_lang.dat": ("imp/rec_condpag_lang.cs", "CHIAVE|COD_DITTA|COD_COND_PAG|"
                            "COD_LINGUA|DES_COND_PAG|DAT_ULT_MOD"),
    "io_custom_fields.dat": ("rec_custom_fields.cs", _h(
        "CHIAVE|COD_DITTA|NOME|VALORE|TIPO|CHIAVE_PADRE|CONTESTO|COD_EXT|POSIZIONE_VALORE",
        "ORDINAMENTO|POSIZIONE_NOME|TIPO_DATO|DAT_ULT_MOD")),
    "io_giacenze.dat": ("imp/rec_giacenze.cs", "CHIAVE|COD_DITTA|COD_ARTICOLO|COD_DEPOSITO|"
                        "DES_DEPOSITO|GIACENZA|DISPONIBILITA|UM1|DAT_ULT_MOD"),
    "io_mod_sped.dat": ("imp/rec_mod_sped.cs", CODE_TABLE),
    "io_info.dat": ("imp/rec_info.cs", "DESCRIZIONE|VALORE"),
    "io_leads.dat": ("imp/rec_leads.cs", LEADS.replace("|CAP|PROVINCIA|",
                                                       "|CAP|COD_PROVINCIA|PROVINCIA|")),
    "io_lead_acccrm.dat": ("imp/rec_lead_acccrm.cs", "CHIAVE|COD_DITTA|COD_OPERATORE|"
                           "COD_OPERATORE_FIGLIO|FLG_VISUALIZZA|FLG_MODIFICA|DAT_ULT_MOD"),
    "io_lead_accessi.dat": ("rec_lead_accessi.cs", "CHIAVE|COD_DITTA|COD_OPERATORE|COD_LEAD|"
                            "FLG_VISUALIZZA|FLG_MODIFICA|DAT_ULT_MOD"),
    "io_lead_note.dat": ("imp/rec_lead_note.cs", "CHIAVE|COD_DITTA|COD_LEAD|PROGRESSIVO|"
                         "TIPO_NOTA|NOTA|DAT_ULT_MOD"),
    "io_lead_righoff.dat": ("imp/rec_lead_righoff.cs", LEAD_RIGHOFF),
    "io_lead_sconti.dat": ("imp/rec_lead_sconti.cs", _h(
        "CHIAVE|COD_DITTA|COD_ART|COD_LISTINO|COD_LEAD|CLASSE_ARTICOLO|DES_CLASSE_ARTICOLO",
        "COD_PROMO|QUANTITA_INIZIO|QUANTITA_FINE|DATA_INIZIO|DATA_FINE|PRIORITA|SCONTO1",
        "SCONTO2|SCONTO3|SCONTO4|SCONTO5|SCONTO6|TIPO_SCONTO1|TIPO_SCONTO2|TIPO_SCONTO3",
        "TIPO_SCONTO4|TIPO_SCONTO5|TIPO_SCONTO6|DAT_ULT_MOD")),
    "io_lead_testoff.dat": ("imp/rec_lead_testoff.cs", LEAD_TESTOFF),
    "io_lead_detcon.dat": ("rec_lead_detcon.cs", LEAD_DETCON),
    "io_listini_full.dat": ("imp/rec_listini_full.cs", _h(
        "CHIAVE|COD_DITTA|TIPO_LISTINO|COD_ART|TIPO_CLIFOR|COD_CLIFOR|COD_DEPOSITO",
        "COD_MACROAREA|COD_AREA|COD_ZONA|COD_MACROCATEGORIA|COD_CATEGORIA|COD_SOTTOCATEGORIA",
        "COD_FAM_INIZIO|COD_FAM_FINE|COD_SFAM_INIZIO|COD_SFAM_FINE|COD_GRUPPO_INIZIO",
        "COD_GRUPPO_FINE|COD_SGRUPPO_INIZIO|COD_SGRUPPO_FINE|COD_LISTINO|COD_CAMPAGNA",
        "COD_DESTINAZIONE|COD_CLASSE|QUANTITA_INIZIO|QUANTITA_FINE|DATA_INIZIO|DATA_FINE",
        "PREZZO|PRIORITA|SCONTO1|SCONTO2|SCONTO3|SCONTO4|SCONTO5|SCONTO6|SCONTO_IMP",
        "MAG_PERC1|MAG_PERC2|MAG_IMP|IND_GES_PREZZO|IND_GES_SC1_PER|IND_GES_SC2_PER",
        "IND_GES_SC3_PER|IND_GES_SC4_PER|IND_GES_SC5_PER|IND_GES_SC6_PER|IND_GES_SC_IMP",
        "IND_GES_MAG1_PER|IND_GES_MAG2_PER|IND_GES_MAG_IMP|FLG_ESCLUDI_SCONTI",
        "COD_COMBINAZIONE|COD_VALUTA|COD_CATALOGO|COD_MATERIALE_COMB|COD_MATERIALE1",
        "COD_COLORE1|COD_MATERIALE2|COD_COLORE2|COD_MATERIALE3|COD_COLORE3|COD_MATERIALE4",
        "COD_COLORE4|COD_MATERIALE5|COD_COLORE5|COD_MATERIALE6|COD_COLORE6|COD_MATERIALE7",
        "COD_COLORE7|COD_MATERIALE8|COD_COLORE8|COD_MATERIALE9|COD_COLORE9|COD_MATERIALE10",
        "COD_COLORE10|DAT_ULT_MOD")),
    "io_stoart.dat": ("imp/rec_stoart.cs", STOART_CIC),
    "io_sconti.dat": ("imp/rec_sconti.cs", SCONTI.replace("|COD_ART|", "|COD_ART|COD_LISTINO|")
                      .replace("|DAT_ULT_MOD", "|COD_VALUTA|DAT_ULT_MOD")),
    "io_valute.dat": ("imp/rec_valute.cs",
                      "CHIAVE|COD_DITTA|COD_VALUTA|DES_VALUTA|SIMBOLO|FLG_PREF|DAT_ULT_MOD"),
    "io_taglie_assortimenti.dat": ("imp/rec_taglie_assortimenti.cs", "CHIAVE|COD_DITTA|"
                                   "COD_ASSORTIMENTO|COD_TAGLIA|QUANTITA|DAT_ULT_MOD"),
    "io_cataloghi.dat": ("imp/rec_cataloghi.cs", "CHIAVE|COD_DITTA|COD_CATALOGO|DES_CATALOGO|"
                         "SCONTO_MAX|FLG_MOD_PREZZO|FLG_MOD_SCONTI|DAT_ULT_MOD"),
    "io_cataloghi_art.dat": ("imp/rec_cataloghi_art.cs",
                             "CHIAVE|COD_DITTA|COD_CATALOGO|COD_ARTICOLO|DAT_ULT_MOD"),
    "io_cataloghi_agente.dat": ("imp/rec_cataloghi_agente.cs (file name from DI)",
                                "CHIAVE|COD_DITTA|COD_CATALOGO|COD_AGENTE|DAT_ULT_MOD"),
    "io_taglie_cataloghi.dat": ("imp/rec_cataloghi.cs (one NomiTracciati maps it here)",
                                "CHIAVE|COD_DITTA|COD_CATALOGO|DES_CATALOGO|SCONTO_MAX|"
                                "FLG_MOD_PREZZO|FLG_MOD_SCONTI|DAT_ULT_MOD"),
    "io_taglie_cataloghi_art.dat": ("rec_taglie_cataloghi_art.cs",
                                    "CHIAVE|COD_DITTA|COD_CATALOGO|COD_ARTICOLO|DAT_ULT_MOD"),
    "io_taglie_estensioni.dat": ("rec_taglie_estensioni.cs", "CHIAVE|COD_DITTA|TIPO|"
                                 "COD_CLIENTE|COD_MATERIALE|DES_MATERIALE|COD_COLORE|"
                                 "DES_COLORE|DAT_ULT_MOD"),
    "io_taglie_sviluppi.dat": ("imp/rec_taglie_sviluppi.cs", "CHIAVE|COD_DITTA|COD_SVILUPPO|"
                               "DES_SVILUPPO|COD_TAGLIA|DES_TAGLIA|ORDINAMENTO|"
                               "FLG_PREFERENZIALE|FLG_VISIBILE|DAT_ULT_MOD"),
    "io_taglie_sviluppi_art.dat": ("imp/rec_taglie_sviluppi_art.cs", "CHIAVE|COD_DITTA|"
                                   "COD_ARTICOLO|COD_SVILUPPO|COD_TAGLIA|FLG_VISIBILE|"
                                   "DAT_ULT_MOD"),
    "io_var_combinazioni.dat": ("rec_var_combinazioni.cs", "CHIAVE|COD_DITTA|ORDINAMENTO|"
                                "COD_COMBINAZIONE|DES_COMBINAZIONE|COD_ARTICOLO|COD_SVILUPPO|"
                                "COD_CATALOGO|" + "|".join(
                                    f"POSIZIONE{n}|COD_MATERIALE{n}|DES_MATERIALE{n}|"
                                    f"COD_COLORE{n}|DES_COLORE{n}" for n in range(1, 16))
                                + "|DAT_ULT_MOD"),
    "io_regole.dat": ("rec_regole.cs", "CHIAVE|COD_DITTA|COD_ARTICOLO|COD_CATALOGO|"
                      "COD_LISTA_MATERIALE_COMB|ORDINAMENTO|" + "|".join(
                          f"COD_LISTA_MATERIALE{n}|DES_SCELTA{n}" for n in range(1, 10))
                      + "|COD_LISTA_MATERIALE10|DAT_ULT_MOD"),
    "io_liste_materiali.dat": ("rec_liste_materiali.cs", "CHIAVE|COD_DITTA|COD_LISTA_MATERIALE|"
                               "COD_MATERIALE|DES_MATERIALE|COD_LISTA_COLORI|DAT_ULT_MOD"),
    "io_liste_colori.dat": ("imp/rec_liste_colori.cs", "CHIAVE|COD_DITTA|COD_LISTA_COLORE|"
                            "COD_COLORE|DES_COLORE|DAT_ULT_MOD"),
    "io_canali_vendita.dat": ("imp/rec_canali_vendita.cs", CODE_TABLE),
    "io_classi_sconto.dat": ("rec_classi_sconto.cs", CODE_TABLE),
    "io_clifor_cate.dat": ("imp/rec_clifor_cate.cs", CODE_TABLE),
    "io_porto.dat": ("rec_porto.cs", CODE_TABLE),
    "io_magazzini.dat": ("imp/rec_magazzini.cs",
                         "CHIAVE|COD_DITTA|COD_MAGAZZINO|DES_MAGAZZINO|DAT_ULT_MOD"),
    "io_clifor_esclusioni.dat": ("imp/rec_cli_escl.cs", "CHIAVE|COD_DITTA|TIPO_CLIFOR|"
                                 "COD_CLIFOR|COD_FAM|COD_SFAM|DAT_ULT_MOD"),
    "io_agenti_esclusioni.dat": ("imp/rec_age_escl.cs",
                                 "CHIAVE|COD_DITTA|COD_AGE|COD_FAM|COD_SFAM|DAT_ULT_MOD"),
    "io_lead_concorrenti.dat": ("imp/rec_lead_concorrenti.cs",
                                "CHIAVE|COD_DITTA|COD_CONCORRENTE|DES_CONCORRENTE"),
    "io_lead_mod_acquisizione.dat": ("imp/rec_lead_mod_acquisizione.cs",
                                     "CHIAVE|COD_DITTA|COD_ACQUISIZIONE|DES_ACQUISIZIONE"),
    "io_lead_fonti.dat": ("imp/rec_lead_fonti.cs", "CHIAVE|COD_DITTA|COD_FONTE|DES_FONTE"),
    "io_lead_interessi.dat": ("imp/rec_lead_interessi.cs",
                              "CHIAVE|COD_DITTA|COD_INTERESSE|DES_INTERESSE"),
    "io_lead_settori.dat": ("imp/rec_lead_settori.cs",
                            "CHIAVE|COD_DITTA|COD_SETTORE|DES_SETTORE"),
    "io_lead_cate.dat": ("imp/rec_lead_cate.cs", "CHIAVE|COD_DITTA|COD_CATEGORIA|DES_CATEGORIA"),
    "io_lead_mansioni.dat": ("imp/rec_lead_mansioni.cs",
                             "CHIAVE|COD_DITTA|COD_MANSIONE|DES_MANSIONE"),
    "io_agenti.dat": ("imp/rec_agenti.cs", "CHIAVE|COD_DITTA|COD_AGENTE|DES_AGENTE"),
    "io_catalogo.dat": ("imp/rec_multimedia.cs (NomiTracciati: io_catalogo.dat)",
                        "NOMEFILE|TITOLO|COD_ART|COD_OPERATORE|COD_AGENTE|L1|L2|L3|L4|"
                        "ORDINAMENTO|DAT_ULT_MOD"),
    "io_multimedia.dat": ("imp/rec_multimedia.cs (an earlier NomiTracciati: io_multimedia.dat)",
                          "NOMEFILE|TITOLO|COD_ART|COD_OPERATORE|COD_AGENTE|L1|L2|L3|L4|"
                          "ORDINAMENTO|DAT_ULT_MOD"),
    "io_reports.dat": ("rec_reports.cs", "NOMEFILE|TITOLO|COD_ART|COD_OPERATORE|COD_AGENTE|"
                       "ORDINAMENTO|L1|L2|L3|L4|DAT_ULT_MOD"),
    "io_clifor_oper.dat": ("imp/rec_clifor_operatore.cs (file name from IW)",
                           "CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|COD_OPERATORE|DAT_ULT_MOD"),
    "io_campagne_operatore.dat": ("imp/rec_campagne_operatore.cs (file name from IW)",
                                  "CHIAVE|COD_DITTA|COD_CAMPAGNA|COD_OPERATORE|DAT_ULT_MOD"),
    "io_tipi_attivita.dat": ("imp/rec_tipi_attivita.cs (file name from CIC)",
                             "CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|FLG_PREVISIONALE"),
    "io_attivita.dat": ("imp/rec_attivita.cs as in the AMHelper.xml shipped with CIC "
                        "(file name from CIC)", _h(
                            "CHIAVE|COD_DITTA|COD_ATTIVITA|COD_LEAD|COD_TIPO_ATTIVITA",
                            "DES_OGGETTO|COD_OPERATORE|DATA_ESECUZIONE|ORA_ESECUZIONE",
                            "DES_NOTE|COD_STATO|DATA_PREVISTA_ATTIVITA|ORA_PREVISTA_ATTIVITA",
                            "DES_NOTE_ATTIVITA|COD_STATO_ATTIVITA|DAT_ULT_MOD")),
}
# The shapes AMHelper's comments give: coordinates with a dot, flags 0/-1, S/N for
# FLG_PREVISIONALE, D/E/A for activity states, HH:MM times, UM types 1/2/3.
_AMH_SHAPES: dict[str, dict[str, tuple[str, ...]]] = {
    "io_clifor_gen.dat": {"LATITUDINE": ("40.851796", ""), "LONGITUDINE": ("15.851796", ""),
                          "COD_PIN_MAPPA": ("0", "2"), "FLG_NEW_CLIFOR": ("0", "-1")},
    "io_art_um.dat": {"FAT_CONV": ("0", "12"), "TIPO_UM": ("1", "3"),
                      "FLG_DEFAULT": ("-1", "0"), "MULTIPLO": ("", "6")},
    "io_attivita.dat": {"COD_STATO": ("D", "E"), "ORA_ESECUZIONE": ("", "14:55"),
                        "COD_STATO_ATTIVITA": ("D", "E")},
    "io_tipi_attivita.dat": {"FLG_PREVISIONALE": ("S", "N")},
    "io_art_barcode.dat": {"BARCODE": ("8001234567890", "12345670"),
                           "TIPO_BARCODE": ("ean13", "Ean8")},
    "io_custom_fields.dat": {"TIPO": ("1", "1"), "CONTESTO": ("clienti", "prodotti"),
                             "CHIAVE_PADRE": ("", ""), "TIPO_DATO": ("0", "4")},
    "io_info.dat": {"DESCRIZIONE": ("Tracciati", "Clienti"), "VALORE": ("1.9", COMPANY)},
}
AMH = [Sample("AMH", file, f"wedoit-io/AMHelper src/net20/AMHelper/CSV/{where}", header,
              pinned=_AMH_SHAPES.get(file, {}))
       for file, (where, header) in _AMH_CLASSES.items()]

# ----------------------------------------------------------------------------- legacy
# AM_* files: AppManager writes them with AMHelper's CSV/exp/rec_exp_*.cs (no header,
# positional); judged by the legacy route, not published.
LEGACY = [
    Sample("AMH", "AM_ORD_12_1.DAT", "wedoit-io/AMHelper CSV/exp/rec_exp_order.cs (FILLER5 is "
           "T_NOTE)", "", rows=tuple(
               "|".join([COMPANY, "R", "02022019", "12", "C1", "A1", "05022019", "", "",
                         "0", f"A100{i}", "Sedia", "PZ", "", "2", "0", "10,5", "0", "1", "0",
                         "10", "0", "0", "0", "0", "0", "0", "0", "0", "0", "", "0", "P1",
                         "", "MARIO", "05022019", "Consegna al mattino"] + [""] * 15
                        + ["S1", ""]) for i in (1, 2))),
    Sample("AMH", "AM_CF_ANA_12_1.DAT", "wedoit-io/AMHelper CSV/exp/rec_exp_clifor.cs", "",
           rows=("|".join([COMPANY, "C1", "0", "0547 123456", "", "", "", "info@acme.it",
                           "01234567890", "ROSSI SRL", "VIA ROMA 1", "47521", "CESENA", "FC",
                           "P1", "", "7"]),)),
    Sample("AMH", "AM_CF_NOTE_12_1.DAT", "wedoit-io/AMHelper CSV/exp/rec_exp_clifor_note.cs",
           "", rows=("|".join([COMPANY, "C1", "0", "0", "Note", "Consegna§al mattino", "8"]),)),
]

# ----------------------------------------------------------------------------- DOCS
_CITTA_ROWS = [("A001", "ABANO TERME", "35031", "PD"), ("A002", "ABBADIA", "", "CO"),
               ("A002A", "ABBADIA SOPRA ADDA", "", "CO"), ("A003", "ABBADIA", "", "TO"),
               ("A003A", "ABBADIA ALPINA", "", "TO"), ("A004", "ABBADIA CERRETO", "26834", "LO")]
DOCS = [
    Sample("DOCS", "io_citta.dat", "teopost/icommerce-website _docs/export-specifiche-files.md "
           "(2015 example, keys ditta§code)", "CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|"
           "PROVINCIA|DAT_ULT_MOD", rows=tuple(f"ACMNE§{c}|ACMNE|{c}|{d}|{cap}|{p}|"
                                               "01011900000000"
                                               for c, d, cap, p in _CITTA_ROWS),
           departs="CODICE A002A: 5 characters, documented C4", bom=False, variant="iw"),
    Sample("DOCS", "io_citta.dat", "wedoit-io/doc-icommerce source/caratteristiche-generali-"
           "files.rst (example, bare keys)", "CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|"
           "PROVINCIA|DAT_ULT_MOD", rows=tuple(f"{c}|ACME|{c}|{d[:14]}|{cap}|{p}|"
                                               "01011900000000"
                                               for c, d, cap, p in _CITTA_ROWS),
           departs="CODICE A002A: 5 characters, documented C4", bom=False, variant="di"),
    Sample("DOCS", "io_catalogo.dat", "wedoit-io/doc-icommerce source/int-export-catalogo.rst "
           "(example with ORDINAMENTO; DAT_ULT_MOD the constant rule 6 asks for)", "NOMEFILE|TITOLO|COD_ART|L1|L2|L3|L4|ORDINAMENTO|"
           "DAT_ULT_MOD", rows=(
               "Listino1.pdf|Listino 1|COD001|Detersivi|Naturale|||1|01011900000000",
               "Listino2.pdf|Listino 2|COD002|Detersivi|Naturale|||2|01011900000000",
               "Listino3.pdf|Listino 3|COD003|Prodotti||||3|01011900000000",
               "Listino4.pdf|Listino 4|COD004|Prodotti||||4|01011900000000"),
           bom=False, variant="di"),
]

# ----------------------------------------------------------------------------- shapes
# Values real writers produce that are longer or more precise than documented: each
# file is published as written with warnings (a repair where noted) by the two-severity
# judge (issue 13), refused in strict mode.
SHAPES = [
    _nts("CIC", "io_art_um.dat", ART_UM_CIC, "Elabora_ExportArtUM",
         pinned={"FAT_CONV": ("", "0,08333333"), "TIPO_UM": ("1", "2")},
         departs="FAT_CONV 1/12 with 8 decimals, documented D15,5", variant="fatconv"),
    _nts("CIB", "io_art_um.dat", ART_UM_CIB, "Elabora_ExportArt (IB_ART_UM block)",
         pinned={"FAT_CONV": ("", "0,16666667"), "TIPO_UM": ("1", "2")},
         departs="FAT_CONV 1/6 with 8 decimals, documented D15,5", variant="fatconv"),
    _nts("CIC", "io_clifor_gen.dat", CLIFOR_GEN_CIC, "Elabora_ExportCliforGen",
         pinned={"LATITUDINE": ("44,1375543", ""), "LONGITUDINE": ("12,2431175", "")},
         departs="coordinates with a decimal comma and 7 decimals (the ERP's decimal as text)",
         variant="coords"),
    Sample("AMH", "io_clifor_gen.dat", "wedoit-io/AMHelper CSV/imp/rec_clifor_gen.cs "
           "(LATITUDINE comment: 40.8517964)", _AMH_CLASSES["io_clifor_gen.dat"][1],
           pinned={"LATITUDINE": ("40.8517964", ""), "LONGITUDINE": ("15.8517964", "")},
           departs="coordinates with 7 decimals, documented L50,6", variant="coords"),
    _nts("CIB", "io_art_ultacq.dat", ULTACQ_CIB, "Elabora_ExportArtUltAcq, SQL Export/"
         "GetArtUltAcq.sql", pinned={"NUM_DOC": ("1000001234", "1000001235"),
                                     "PROG": ("1000", "1001"), "TIPO_DOC": ("", "")},
         departs="NUM_DOC 1000000000 + number (10 digits) and PROG past 999, documented I7 "
                "and I3", variant="numdoc"),
    _nts("CIC", "io_art_ultven.dat", ULT_CIC, "Elabora_ExportArtUltVen",
         pinned={"NUM_DOC": ("1000001234", "1000001235"), "PROG": ("1000", "1001")},
         departs="NUM_DOC 10 digits and PROG past 999, documented I7 and I3", variant="numdoc"),
    _nts("CIC", "io_clifor_scadoc.dat", SCADOC, "Elabora_ExportCliforScadoc, SQL Export/"
         "GetCliforScaDoc.sql", pinned={"NUM_REG": ("ACME§1100001§2019§ §1234",
                                                    "ACME§1100001§2019§A§1235")},
         departs="NUM_REG ditta§account§year§series§number (24 characters), documented C12",
         variant="numreg"),
    _nts("CIB", "io_clifor_testdoc.dat", TESTDOC_CIB, "Elabora_ExportCliforTestDoc, SQL "
         "Export/GetCliforTestDoc.sql", pinned={
             "NUMREG": ("ACME§1100001§2019§A§1234", "ACME§1100001§2019§ §88"),
             "FLGDAEVADERE": ("1", "0"), "VALUTA": ("Euro", "")},
         departs="NUMREG ditta§account§year§series§number (24 characters), documented C12",
         variant="numreg"),
    _nts("CIC", "io_clifor_righdoc.dat", RIGHDOC_CIC, "Elabora_ExportCliforRighDoc",
         pinned={"NUM_REG": ("ACME§1100001§2019§A§1234", "ACME§1100001§2019§A§1234")},
         departs="NUM_REG the header's NUMREG (24 characters), documented C12",
         variant="numreg"),
    Sample("DOCS", "io_catalogo.dat", "wedoit-io/doc-icommerce source/int-export-catalogo.rst "
           "(DAT_ULT_MOD written as the date 01012010)", "NOMEFILE|TITOLO|COD_ART|L1|L2|L3|L4|"
           "ORDINAMENTO|DAT_ULT_MOD", rows=(
               "Listino1.pdf|Listino 1|COD001|Detersivi|Naturale|||1|01012010",),
           departs="DAT_ULT_MOD the date 01012010, not ddmmyyyyhhmmss: published as the "
                   "constant (AMHelper's reader takes 8 or 14 digits)", bom=False,
           variant="dum8"),
]

# ----------------------------------------------------------------------------- refused
# Writer bugs that stay refused: the rule they break would misread the file.
REFUSED = [
    _nts("CIB", "io_lead_accessi.dat", "CHIAVE|COD_DITTA|COD_OPERATORE|COD_LEAD|"
         "FLG_VISUALIZZA|FLG_MODIFICA|DAT_ULT_MOD|", "Elabora_ExportLeadAccessi (its header "
         "literal ends with |, the rows do not)", refused="the header ends with |",
         rows=("ACME§MARIO§12|ACME|MARIO|12|S|N|01011900000000",)),
]


ACCEPTED = CIC + CIB + AMH + DOCS[2:]
ALL = ACCEPTED + LEGACY + DOCS[:2] + SHAPES + REFUSED


def layouts_of(samples: list[Sample]) -> set[str]:
    return {s.layout.name for s in samples}


def check_layout_names() -> None:
    """Every sample's file name has a layout (fails loudly at import if not)."""
    for s in ALL:
        get_layout(s.layout.name)


check_layout_names()
