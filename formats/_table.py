"""Every tracciato as data: the export files, checked field by field against every public
writer, and the legacy return files (tracciati.md §2 and §4.1).

Syntax, parsed once by formats.layout:
  @name flag flag ... : description        starts a layout
  % TAG place; TAG place ...                where the layout comes from (the refs)
  [TAG TAG] NAME TYPE NAME TYPE ...         fields, in the documented order; the tags in
                                            [...] are the sources of the fields that follow
                                            (on this line and the next ones, until the next
                                            [...])

Types: Cn text of at most n characters (capped at 4000), In integer of at most n digits,
Dp,s decimal with comma (p digits in all, s after the comma), Dt date ddmmyyyy,
DT date-time ddmmyyyyhhmmss, F flag 0/-1, Lp,s decimal with a dot (LATITUDINE/LONGITUDINE),
? untyped: no page gives a type or length, so the field is permissive text (C4000).
The type and length are always the *documented* ones, even where real writers write longer
or more precise values (the judge tells those apart from values of the wrong type).
A trailing ! marks a required field. A trailing ^ marks a key-like field beyond the
automatic ones (CHIAVE*, COD_*, CODICE, ID_*, NUM_REG, NUMREG, ULT_NUM_REG): their values
identify or link records and are never truncated.
NAME{1..6} expands to NAME1 ... NAME6. NAME/ALIAS names a field and the other header
names real writers use for it (NAME{1..3}/ALIAS{1..3} pairs them up); a file may use
either, the published file keeps the name as written.

Flags: std = starts CHIAVE C250! COD_DITTA C50! and ends DAT_ULT_MOD DT (§2.x), the
connector adds DAT_ULT_MOD when a file lacks it; dumopt = std, but DAT_ULT_MOD is only
accepted, never added (no page and no writer of that file has it); dum=TAG,TAG = the
sources of DAT_ULT_MOD when not all of the layout's (e.g. only the page lists it);
nodum = std without DAT_ULT_MOD; chiave=N = CHIAVE length; extras = columns that are
not listed are accepted (untyped); min = part of the minimum set (*); positional = no
header row (legacy AM_* files), minfields=N = lines may stop after N fields;
file=GLOB = file-name pattern (default name.dat); alsofile=NAME = another file name the
sources give the same tracciato; group=G = the §2 group the file belongs to.

Source tags (`connector layouts X --fields` shows them per field):
  IW   teopost/icommerce-website _docs/tracciati/io_*.md, the 2015-16 pages; the later
       copy in wedoit-io/doc-old ic.wedoit.io-old/_docs/tracciati has every page (refs
       name the page)
  DI   wedoit-io/doc-icommerce source/*.rst, the 2016-17 site
  AMH  wedoit-io/AMHelper src/net20/AMHelper/CSV/imp/rec_*.cs (the older ones in CSV/),
       the vendor's helper library, and CSV/NomiTracciati.cs for file names; also the
       AMHelper.xml of the build shipped in GiesseDatiSrl/Connettore-iC CreaBuild/
  CIB  mattiamanzati/ConnettoreiB BEIEIBUS/BEIEIBUS.vb Elabora_Export* and BDIEIBUS/SQL
       Export/*.sql: the NTS Business reference connector as of 2016
  CIC  GiesseDatiSrl/Connettore-iC, the same connector 2017-19 (same files)
Value shapes noted in comments are those the writers produce (CIB and CIC format numbers
with the Windows culture, i.e. a decimal comma, and NTSCDec(x).ToString("0.0000")-style
fixed decimals).
"""

TABLE = r"""
# ---------------------------------------------------------------- articles
@io_art std min group=articles : Articles
% IW tracciati/io_art.md; AMH CSV/imp/rec_art.cs (13 versions; CSV/rec_art.cs before); CIB BEIEIBUS.vb Elabora_ExportArt; CIC BEIEIBUS.vb Elabora_ExportArt
# CIB/CIC: COD_ART may carry ".phase"; FATTORE_CONVERSIONE, PREZZO_MIN_VEN, SCONTO_MAX_VEN
# with 4 decimals, MAX_EXTRA_SCONTO always "0,000000", COD_DEPERIBILITA = the ERP's type.
[IW AMH CIB CIC] COD_ART C25! DES_ART C255 COD_FAM C4 DES_FAM C30 COD_SFAM C4 DES_SFAM C30
COD_GRUPPO1 C4 DES_GRUPPO1 C30 COD_GRUPPO2 C4 DES_GRUPPO2 C30 UM1 C3 UM2 C3
[IW AMH] COD_STATO C50 DES_STATO C255
[IW AMH CIB CIC] FATTORE_CONVERSIONE D16,10 DES_GR_STAT1 C30 DES_GR_STAT2 C30
QTA_MIN_VEND D25,8 COD_CLASSE_SCONTO C50 COD_DEPERIBILITA C50 PREZZO_MIN_VEN D28,8
SCONTO_MAX_VEN D14,6 MAX_EXTRA_SCONTO D14,6
[IW AMH] COD_SVILUPPO_BASE C255 PREZZO_RETAIL D28,8
[IW AMH CIC] DES_FILTRO{1..3} C255
# IW names the lock flag FLG_MOD_UM_DEFAULT; AMHelper (every version since 2017) and CIC
# write FLG_LOCK_UM_DEFAULT (CIC's BloccaSceltaUM option fills it), so that is the name
# AppManager reads from the vendor's own writers.
FLG_MOD_UM_DEFAULT/FLG_LOCK_UM_DEFAULT F
# FLG_REDDITTIVITA is AMHelper's spelling; FLG_REDDITIVITA is this table's earlier one.
[AMH] DES_FILTROA ? DES_FILTROB ? DES_FILTROC ? DES_ESTESA ? COD_ART_PADRE ? FLG_CATALOGO ?
FLG_REDDITTIVITA/FLG_REDDITIVITA ? FLG_KIT ? FLG_ORDINABILE ? DES_CLA_PROV ?

@io_art_lang std group=articles : Articles in language
% IW tracciati/io_art_lang.md; AMH CSV/imp/rec_art_lang.cs; CIC BEIEIBUS.vb Elabora_ExportArtLingua
[IW AMH CIC] COD_ART C50! COD_LINGUA C50! DES_ART C255

@io_art_um std min group=articles : Units of measure
% IW tracciati/io_art_um.md; AMH CSV/imp/rec_art_um.cs and the AMHelper.xml shipped with CIC (MULTIPLO); CIB BEIEIBUS.vb Elabora_ExportArt (the IB_ART_UM block); CIC BEIEIBUS.vb Elabora_ExportArtUM
# FAT_CONV: CIB and CIC write 1/factor with 8 decimals (0,00000000) for UM type 2 and the
# package quantity with 4 for type 3; empty for UM type 1 (AMHelper says 0).
[IW AMH CIB CIC] COD_ART C50! UM C50!^ DESC_UM C1000 FAT_CONV D15,5 TIPO_UM I1
# FLG_DEFAULT: on the later IW page (the doc-old copy; the 2015 page lacks it), AMHelper
# and CIC; CIB does not write it.
[IW AMH CIC] FLG_DEFAULT F
# MULTIPLO: the quantity in UM1 must be a multiple of it (AMHelper build shipped with CIC).
[AMH] MULTIPLO ?

@io_listini_full std min group=articles : Price lists (every filter column empty = any)
% IW tracciati/io_listini_full.md; AMH CSV/imp/rec_listini_full.cs; CIB BEIEIBUS.vb Elabora_ExportListini; CIC BEIEIBUS.vb Elabora_ExportListini
# CIB/CIC: PREZZO with 8 decimals, quantities with 2, FLG_ESCLUDI_SCONTI = the ERP's S/N.
[IW AMH CIB CIC] TIPO_LISTINO C50 COD_ART C50 TIPO_CLIFOR I2 COD_CLIFOR C50
[IW AMH] COD_DEPOSITO C50 COD_MACROAREA C50 COD_AREA C50 COD_ZONA C50 COD_MACROCATEGORIA C50
COD_CATEGORIA C50 COD_SOTTOCATEGORIA C50 COD_FAM_INIZIO C50 COD_FAM_FINE C50
COD_SFAM_INIZIO C50 COD_SFAM_FINE C50 COD_GRUPPO_INIZIO C50 COD_GRUPPO_FINE C50
COD_SGRUPPO_INIZIO C50 COD_SGRUPPO_FINE C50
[IW AMH CIB CIC] COD_LISTINO C50
[IW AMH] COD_CAMPAGNA C50 COD_DESTINAZIONE C50 COD_CLASSE C50 COD_COMBINAZIONE C255
[IW AMH CIB CIC] COD_VALUTA C50 FLG_ESCLUDI_SCONTI C16
QUANTITA_INIZIO D25,8 QUANTITA_FINE D25,8 DATA_INIZIO Dt DATA_FINE Dt PREZZO D28,8
PRIORITA I9 SCONTO{1..6} D14,6 SCONTO_IMP D28,8 MAG_PERC1 D14,6 MAG_PERC2 D14,6
MAG_IMP D28,8 IND_GES_PREZZO C5 IND_GES_SC{1..6}_PER C5 IND_GES_SC_IMP C5
IND_GES_MAG1_PER C5 IND_GES_MAG2_PER C5 IND_GES_MAG_IMP C5
[IW AMH] COD_CATALOGO C255 COD_MATERIALE_COMB C255
COD_MATERIALE1 C255 COD_COLORE1 C255 COD_MATERIALE2 C255 COD_COLORE2 C255
COD_MATERIALE3 C255 COD_COLORE3 C255 COD_MATERIALE4 C255 COD_COLORE4 C255
COD_MATERIALE5 C255 COD_COLORE5 C255 COD_MATERIALE6 C255 COD_COLORE6 C255
COD_MATERIALE7 C255 COD_COLORE7 C255 COD_MATERIALE8 C255 COD_COLORE8 C255
COD_MATERIALE9 C255 COD_COLORE9 C255 COD_MATERIALE10 C255 COD_COLORE10 C255

@io_sconti std min group=articles : Discounts
% IW tracciati/io_sconti.md; AMH CSV/imp/rec_sconti.cs; CIB BEIEIBUS.vb Elabora_ExportSconti; CIC BEIEIBUS.vb Elabora_ExportSconti
# CIB/CIC: quantities and discounts with 2 decimals, TIPO_SCONTOn = the ERP's S/C option.
[IW AMH CIB CIC] COD_ART C50
[AMH] COD_LISTINO ?
[IW AMH CIB CIC] TIPO_CLIFOR I2 COD_CLIFOR C50 CLASSE_ARTICOLO C50 DES_CLASSE_ARTICOLO C255
CLASSE_CLIENTE C50 DES_CLASSE_CLIENTE C255 COD_PROMO C50 QUANTITA_INIZIO D25,8
QUANTITA_FINE D25,8 DATA_INIZIO Dt DATA_FINE Dt PRIORITA I9 SCONTO{1..6} D14,6
TIPO_SCONTO{1..6} C5
[IW AMH] COD_VALUTA C50

@io_stoart std min group=articles : Article history per customer
% IW tracciati/io_stoart.md; AMH CSV/imp/rec_stoart.cs; CIB BEIEIBUS.vb Elabora_ExportArtStoart; CIC BEIEIBUS.vb Elabora_ExportArtStoart
# CIB/CIC: ULT_QTA and ULT_PRZ with 5 decimals, discounts with 2, NUM_RIGHE 1,
# ULT_NUM_REG and ULT_PROG_RIGA 0.
[IW AMH CIB CIC] COD_CLIFOR C50! COD_ART C25! DESC_ARTICOLO C1600 NUM_RIGHE I10
ULT_NUM_REG C12 ULT_PROG_RIGA I6 ULT_QTA D25,8 ULT_PRZ D28,8 ULT_UM C50 ULT_QTA2 ?
ULT_PRZ2 ? ULT_UM2 ? COD_DEST C50 ULT_SC_PER{1..6} D6,3 ULT_SC_IMPORTO D28,8
ULT_MAG_PER1 D6,3 ULT_MAG_PER2 D6,3 ULT_MAG_IMPORTO D28,8 ULT_DATA Dt
# COD_VALUTA: added by AMHelper and CIC (2017-19) after ULT_DATA; no page lists it.
[AMH CIC] COD_VALUTA ?

@io_art_ultacq std group=articles : Last purchases
% IW tracciati/io_art_ultacq.md; AMH CSV/imp/rec_art_ultacq.cs; CIB BEIEIBUS.vb Elabora_ExportArtUltAcq and SQL Export/GetArtUltAcq.sql; CIC BEIEIBUS.vb Elabora_ExportArtUltAcq
# CIB/CIC: PROG is a counter over the whole file (past 999 after a thousand rows), NUM_DOC
# is 1000000000 + the ERP number (10 digits), PRZ with 4 decimals.
[IW AMH CIB CIC] COD_ART C25! PROG I3
# VALUTA: IW and CIB (2016, always empty) write VALUTA; AMHelper and CIC (2017-19, the
# ERP's currency code) write COD_VALUTA. Which one AppManager reads today the sources do
# not say: both are accepted and the published file keeps the header as written.
VALUTA/COD_VALUTA C4 PRZ D28,8 DATA_DOC Dt NUM_DOC I7 COD_CLFOR C50
[IW CIB] TIPO_DOC C50

@io_art_ultven std group=articles : Last sales
% IW tracciati/io_art_ultven.md; AMH CSV/imp/rec_art_ultven.cs; CIB BEIEIBUS.vb Elabora_ExportArtUltVen and SQL Export/GetArtUltVen.sql; CIC BEIEIBUS.vb Elabora_ExportArtUltVen
# Shapes and the VALUTA/COD_VALUTA split as io_art_ultacq.
[IW AMH CIB CIC] COD_ART C25! PROG I3 VALUTA/COD_VALUTA C4 PRZ D28,8 DATA_DOC Dt NUM_DOC I7
COD_CLFOR C50

@io_giacenze std group=articles : Stock
% IW tracciati/io_giacenze.md; AMH CSV/imp/rec_giacenze.cs; CIB BEIEIBUS.vb Elabora_ExportArtGiacenze; CIC BEIEIBUS.vb Elabora_ExportArtGiacenze
# CIB/CIC: COD_DEPOSITO is the ERP's warehouse number, quantities with 4 decimals.
[IW AMH CIB CIC] COD_ARTICOLO C25! COD_DEPOSITO C2! DES_DEPOSITO C255 GIACENZA D25,8
DISPONIBILITA D25,8 UM1 C3

@io_art_conf std group=articles : Packaging codes (untyped: no page documents it)
% AMH CSV/rec_art_conf.cs; CIB BEIEIBUS.vb Elabora_ExportArt (the IB_ART_CONF block)
# CIB: PZ_CONF with 4 decimals (decimal comma), FLG_PREF always 1.
[AMH CIB] COD_ART ?! COD_CONF ?! PZ_CONF ? FLG_PREF ?

@io_art_barcode std group=articles : Barcodes (untyped: no page documents it)
% AMH CSV/imp/rec_art_barcode.cs
[AMH] COD_ART ?! BARCODE ?!^ UM ? QTA ? TIPO_BARCODE ?

@io_magazzini std group=articles : Warehouses (untyped: no page documents it)
% AMH CSV/imp/rec_magazzini.cs
[AMH] COD_MAGAZZINO ?! DES_MAGAZZINO ?

# ---------------------------------------------------------------- customers / suppliers
@io_clifor_gen std min group=customers : Customers and suppliers
% IW tracciati/io_clifor_gen.md; AMH CSV/imp/rec_clifor_gen.cs (6 versions; CSV/rec_clifor_gen.cs before); CIB BEIEIBUS.vb Elabora_ExportCliforGen; CIC BEIEIBUS.vb Elabora_ExportCliforGen
# LATITUDINE/LONGITUDINE: dot decimal per AMHelper, with 7 decimals in its own example
# (40.8517964); CIC writes the ERP's decimal as text, i.e. with a decimal comma on an
# Italian Windows. CIB/CIC: FIDO_AZIENDALE and SCONTO_PIEDE in the ERP's discount format.
[IW AMH CIB CIC] TIPO_CLIFOR I2! COD_CLIFOR C50! RAG_SOC C255 TAG C255 INDIRIZZO C255
PARTITA_IVA C50 CODICE_FISCALE C20 TELEFONO1 C255 TELEFONO2 C255 FAX C255 CELLULARE C255
EMAIL C255 INTERNET C255 CAP C20 CITTA C255 PROVINCIA C255 LATITUDINE L50,6
LONGITUDINE L50,6 COD_CLASSE_SCONTO C50 FLG_MOD_NEL_DISP I2 FLG_DEPERIBILITA I2
COD_CAT_EXTRA_SCONTO C50
[IW AMH] COD_SVILUPPO C255
[IW AMH CIB CIC] NAZIONE C255 PAGAMENTO C255 BANCA C255 AGENZIA C255 LISTINO_ANAGRAFICO C255
VALUTA C50
[IW AMH] SCO_PERC{1..6} D14,6
[IW AMH CIB CIC] SCONTI_ANAG_PERC C255 SCONTI_ANAG_IMP D14,6 MAGGIORAZIONE_ANAG_PERC D6,3
SCONTO_PIEDE D6,3 COD_LISTINO C50 COD_CONDPAG C50 COD_VALUTA C50 MACROAREA C255
DATA_CREAZIONE Dt
[IW AMH] AREA C255
# ZONA: IW, CIB and CIC write ZONA; AMHelper's latest class (2022) names it DES_ZONA.
[IW AMH CIB CIC] ZONA/DES_ZONA C255
[IW AMH] MACROCATEGORIA C255 DATA_ULT_DOC_NO_FT Dt
[IW AMH CIB CIC] CATEGORIA C255
[IW AMH] SOTTOCATEGORIA C255
[IW AMH CIB CIC] DATA_ULT_DOC_FT Dt DATA_ULT_ORDINE Dt FIDO_AZIENDALE D15,2
# DES_RAGGRn: IW; every AMHelper version writes RAGGRn.
[IW AMH] DES_RAGGR{1..3}/RAGGR{1..3} C255 COD_MACROAREA C50 COD_AREA C50 COD_ZONA C50
COD_MACROCATEGORIA C50
[IW AMH CIC] COD_CATEGORIA C50
[IW AMH] COD_SOTTOCATEGORIA C50
[IW AMH CIB CIC] FLG_NEW_CLIFOR F
[AMH] PEC ? IBAN ? COD_PIN_MAPPA ? DES_PIN_MAPPA ? TOT_MIN_ORDINABILE ? FLG_NEGOZIO ?
COD_BLOCCO ? COD_GIORNO_CONSEGNA ? COD_TIPO_CLIENTE ? DES_STATO ?

@io_clifor_age std min group=customers : Customer-agent links
% IW tracciati/io_clifor_age.md; AMH CSV/imp/rec_clifor_age.cs; CIB BEIEIBUS.vb Elabora_ExportCliforAge; CIC BEIEIBUS.vb Elabora_ExportCliforAge
[IW AMH CIB CIC] TIPO_CLIFOR I1! COD_CLIFOR C50! COD_AGE C50! RAGSOC_AGE C40 PREFERENZIALE I1

@io_clifor_blo std min group=customers : Customer blocks
% IW tracciati/io_clifor_blo.md; AMH CSV/imp/rec_clifor_blo.cs; CIB BEIEIBUS.vb Elabora_ExportCliforBlo; CIC BEIEIBUS.vb Elabora_ExportCliforBlo
# CIB/CIC: COD_BLOCCO always 0, TIPO_BLOCCO the ERP's block flag, DATA_BLOCCO empty.
[IW AMH CIB CIC] TIPO_CLIFOR I1! COD_CLIFOR C50! COD_BLOCCO I2 TIPO_BLOCCO C15
NOTA_BLOCCO C4000 DATA_BLOCCO Dt

@io_clifor_girovisita std group=customers : Visit calendar
% IW tracciati/io_clifor_girovisita.md; AMH CSV/rec_clifor_girovisita.cs
[IW AMH] COD_CLIFOR C50! COD_AGE C50! COD_DEST C50 GG_VISITA I2 SEQUENZA I9 GG_ULT_VISITA I2
DAT_ULT_VISITA Dt

@io_clifor_dest std min group=customers : Delivery destinations
% IW tracciati/io_clifor_dest.md; AMH CSV/rec_clifor_dest.cs; CIB BEIEIBUS.vb Elabora_ExportCliforDestdiv; CIC BEIEIBUS.vb Elabora_ExportCliforDestdiv
[IW AMH CIB CIC] TIPO_CLIFOR I1! COD_CLIFOR C50! PREFERENZIALE I10 COD_DEST C4!
RAG_SOC_DEST C8000 INDIRIZZO C8000 CAP C8 CITTA C8000 PROVINCIA C2 STAMPA_PREF_DOC C6
TELEFONO C20 CELLULARE C20 MAIL C40 FAX C20 NOTE_DEST C512

@io_clifor_cate std dum=IW group=customers : Customer categories
% IW tracciati/io_clifor_cate.md (a copy of the io_nazioni page); AMH CSV/imp/rec_clifor_cate.cs; CIB BEIEIBUS.vb Elabora_ExportCliforCate; CIC BEIEIBUS.vb Elabora_ExportCliforCate
# The IW page lists COD_NAZIONE/DES_NAZIONE (copied from io_nazioni); every writer writes
# CODICE/DESCRIZIONE and no DAT_ULT_MOD.
[IW AMH CIB CIC] CODICE/COD_NAZIONE C50! DESCRIZIONE/DES_NAZIONE C255

@io_clifor_detcon std group=customers : Contacts
% IW tracciati/io_clifor_detcon.md; AMH CSV/rec_clifor_detcon.cs; CIB BEIEIBUS.vb Elabora_ExportCliforDettCon; CIC BEIEIBUS.vb Elabora_ExportCliforDettCon
# COGNOME: the IW name; AMHelper, CIB and CIC write COGNOME_NOME. CIB/CIC: PREF always 1,
# several columns always empty (ORARIO_LAVORO, TELEFONO2, CELLULARE2, ...).
[IW AMH CIB CIC] TIPO_CLIFOR I1 COD_CLIFOR C50 ID_CONTATTO I8! TIPO_CONTATTO C40 PREF I1
COGNOME/COGNOME_NOME C50 NOME C255 INDIRIZZO C50 CAP C8 CITTA C50 PR C2 ORARIO_LAVORO C100
TELEFONO1 C20 TELEFONO2 C20 CELLULARE1 C20 CELLULARE2 C20 TELEF_CASA C20 FAX C20
EMAIL1 C100 EMAIL2 C100 ALTRO_INDIRIZZO1 C50 ALTRO_INDIRIZZO2 C50 NOTE C9999

@io_clifor_note std group=customers : Customer notes
% IW tracciati/io_clifor_note.md; AMH CSV/rec_clifor_note.cs; CIB BEIEIBUS.vb Elabora_ExportCliforNote; CIC BEIEIBUS.vb Elabora_ExportCliforNote
[IW AMH CIB CIC] TIPO_CLIFOR I1! COD_CLIFOR C50! PROGRESSIVO I3! TIPO_NOTA C4000 NOTA C4000

@io_clifor_testdoc std group=customers : Document headers
% IW tracciati/io_clifor_testdoc.md; AMH CSV/imp/rec_clifor_testdoc.cs; CIB BEIEIBUS.vb Elabora_ExportCliforTestDoc and SQL Export/GetCliforTestDoc.sql; CIC BEIEIBUS.vb Elabora_ExportCliforTestDoc
# NUMREG links the header to its rows (io_clifor_righdoc.NUM_REG) and due dates
# (io_clifor_scadoc.NUM_REG): CIB and CIC write DITTA§account§year§series§number (about 25
# characters; CIC adds §type for documents without due dates, and repeats it in TIPODOC).
# CIB: COD_TIPODOC = the character code of the type's initial, VALUTA = the currency name.
[IW AMH CIB CIC] TIPO_CLIFOR I1 COD_CLIFOR C50 COD_TIPODOC I2 COD_STIPODOC I2
[IW CIB] FLGDAEVADERE I10
# DATADOC: the IW name; AMHelper (DATDOC in its header comment, DATADOC kept only as a
# deprecated duplicate), CIB and CIC write DATA_DOC.
[IW AMH CIB CIC] DATADOC/DATA_DOC/DATDOC Dt NUMREG C12! TIPODOC C14 TIPO C20 SOTTOTIPO C20
[AMH CIB] DATAREG ?
[AMH CIB CIC] SEZIONALE ?
# NUMDOC: AMHelper's deprecated duplicate of NUM_DOC.
[IW AMH CIB CIC] NUM_DOC/NUMDOC C20
[AMH CIB] DOCORIG ?
[AMH CIB CIC] DEPOSITO ?
[IW AMH CIB CIC] COD_VALUTA C50
[IW CIB] VALUTA C4
[IW AMH CIB CIC] TOTALEDOC D28,8
[AMH CIB] DATACONS ? SCADENZE ? ESTCONT ?
# DATA_FATTURA/NUM_FATTURA: the IW names; AMHelper, CIB and CIC write DATA_FATT/NUM_FATT.
# NOTE_DOC: AMHelper's deprecated duplicate of DES_NOTE.
[IW AMH CIB CIC] TIPOSTATO_DOC I2 DESSTATO_DOC C100 DATA_FATTURA/DATA_FATT Dt
NUM_FATTURA/NUM_FATT C20 DES_NOTE/NOTE_DOC C4000
[IW AMH] DATA_CONFERMA Dt
[IW AMH CIB CIC] DES_DOC C255
[AMH] DATA_CONSEGNA ?

@io_clifor_righdoc std group=customers : Document rows
% IW tracciati/io_clifor_righdoc.md; AMH CSV/imp/rec_clifor_righdoc.cs; CIB BEIEIBUS.vb Elabora_ExportCliforRighDoc; CIC BEIEIBUS.vb Elabora_ExportCliforRighDoc
# NUM_REG: the header's NUMREG (see io_clifor_testdoc), about 25 characters from CIB/CIC.
# CIB/CIC: COD_RIGA may carry ".phase", QTA with 5 decimals, PRZ_NETTO 4, IMPORTO and
# discounts 2, PRZ_LORDO always 0.
[IW AMH CIB CIC] NUM_REG C12!
[IW AMH] DATA_DOC Dt
[IW AMH CIB CIC] PRG_RIGA I6!
[AMH CIC] COD_ART ?
[IW AMH CIB CIC] COD_RIGA C25 DES_RIGA C1600 COD_UM C3 QTA D25,8 PRZ_LORDO D28,8
PRZ_NETTO D28,8 COD_VALUTA C50 IMPORTO D28,8 SC_1 D6,3 SC_2 D6,3
[IW AMH] DATA_CONFERMA Dt
[IW AMH CIB CIC] TIPO_CLIFOR I1 COD_CLIFOR C50

@io_clifor_scadoc std min chiave=154 group=customers : Open items and due dates
% IW tracciati/io_clifor_scadoc.md; AMH CSV/imp/rec_clifor_scadoc.cs (IMPORTO_FATT in commit 519ed56; CSV/rec_clifor_scadoc.cs before); CIB BEIEIBUS.vb Elabora_ExportCliforScadoc and SQL Export/GetCliforScaDoc.sql; CIC the same files
# NUM_REG links a due date to its document header (io_clifor_testdoc.NUMREG): CIB and CIC
# write DITTA§account§year§series§number (20-30 characters). CIB/CIC: NETTO_PREV,
# FLG_DA_LIB and FLG_SOSP always 0, DES_TIPO_PRES empty, COD_VALUTA the ERP's code.
[IW AMH CIB CIC] NUM_REG C12! COD_RATA C7! DAT_SCAD Dt IMPORTO D28,8
[AMH CIB CIC] NETTO_PREV ?
[IW AMH CIB CIC] DES_TIPO C255 DES_STATO C255
[AMH CIB CIC] DES_TIPO_PRES ?
[IW AMH CIB CIC] DES_OPERAZIONE C255
[AMH CIB CIC] FLG_DA_LIB ? FLG_SOSP ?
[IW AMH CIB CIC] DES_BANCA_AGENZIA C255 DES_SCAD C255 COD_CLIFOR C50 TIPO_CLIFOR I1
DATA_DOC Dt NUM_DOC C20 COD_VALUTA C50
[AMH] IMPORTO_FATT ?

@io_clifor_fatt std group=customers : Turnover
% IW tracciati/io_clifor_fatt.md; AMH CSV/imp/rec_clifor_fatt.cs; CIB BEIEIBUS.vb Elabora_ExportCliforFatt; CIC BEIEIBUS.vb Elabora_ExportCliforFatt
[IW AMH CIB CIC] TIPO_CLIFOR I1! COD_CLIFOR C50! ANNO I10! MESE I10!
[IW AMH CIC] COD_VALUTA C50
[IW AMH CIB CIC] FATTURATO D28,8

@io_clifor_oper std group=customers : Customer-operator links
% IW tracciati/io_clifor_oper.md; AMH CSV/imp/rec_clifor_operatore.cs (NomiTracciati names no file for it)
[IW AMH] TIPO_CLIFOR I1! COD_CLIFOR C50! COD_OPERATORE C50!

@io_clifor_esclusioni std group=customers : Customer exclusions (untyped: no page documents it)
% AMH CSV/imp/rec_cli_escl.cs
[AMH] TIPO_CLIFOR ?! COD_CLIFOR ?! COD_FAM ? COD_SFAM ?

# ---------------------------------------------------------------- agents / catalog visibility
@io_agenti std dumopt group=agents : Agents (untyped: no page documents it)
% AMH CSV/imp/rec_agenti.cs; CIB BEIEIBUS.vb Elabora_ExportAgenti and SQL Export/GetAgenti.sql; CIC BEIEIBUS.vb Elabora_ExportAgenti
[AMH CIB CIC] COD_AGENTE ?! DES_AGENTE ?

@io_agenti_esclusioni std group=agents : Agent exclusions (untyped: no page documents it)
% AMH CSV/imp/rec_age_escl.cs
# COD_AGE is AMHelper's name; COD_AGENTE is this table's earlier one.
[AMH] COD_AGE/COD_AGENTE ?! COD_FAM ? COD_SFAM ?

@io_cataloghi std group=agents : Catalogs (per-agent visibility)
% DI cataloghi-agente.rst; AMH CSV/imp/rec_cataloghi.cs
# FLG_MOD_PREZZO/FLG_MOD_SCONTI: 0 agents may not change, -1 may, 9 ignore (DI).
[DI AMH] COD_CATALOGO ?! DES_CATALOGO ? SCONTO_MAX ? FLG_MOD_PREZZO ? FLG_MOD_SCONTI ?

@io_cataloghi_art std group=agents : Catalog-article links
% DI cataloghi-agente.rst; AMH CSV/imp/rec_cataloghi_art.cs
[DI AMH] COD_CATALOGO ?! COD_ARTICOLO ?!

@io_cataloghi_agente std group=agents : Catalog-agent links
% DI cataloghi-agente.rst; AMH CSV/imp/rec_cataloghi_agente.cs
[DI AMH] COD_CATALOGO ?! COD_AGENTE ?!

# ---------------------------------------------------------------- leads / CRM
@io_leads std group=crm : Leads
% IW tracciati/io_leads.md; AMH CSV/imp/rec_leads.cs; CIB BEIEIBUS.vb Elabora_ExportLeads; CIC BEIEIBUS.vb Elabora_ExportLeads
# CIB/CIC: LATITUDINE/LONGITUDINE and DATA_CREAZIONE always empty, FLG_MOD_NEL_DISP 0.
[IW AMH CIB CIC] COD_LEAD C50! COD_CLIFOR C50 DESCRIZIONE1 C255 DESCRIZIONE2 C255
INDIRIZZO C255 CITTA C255 CAP C20
[AMH] COD_PROVINCIA ?
[IW AMH CIB CIC] PROVINCIA C255 DES_PROVINCIA C255 NAZIONE C255 DES_NOTE C4000
PARTITA_IVA C50 CODICE_FISCALE C20 TELEFONO C255 FAX C255 CELLULARE C255 EMAIL C255
INTERNET C255 LATITUDINE L50,6 LONGITUDINE L50,6 FLG_MOD_NEL_DISP I2 COD_STATUS C50
STATUS C255 COD_CATEGORIA C50 CATEGORIA C255 COD_ZONA C50 ZONA C255 DATA_ULT_OFFERTA Dt
DATA_CREAZIONE Dt BANCA1 C255 BANCA2 C255 COD_LISTINO C50 LISTINO C255
# The three FLG_* flags: IW names; AMHelper, CIB and CIC write COD_PRIVACY,
# COD_CONTATTATO, COD_NON_INTERESSATO.
FLG_PRIVACY/COD_PRIVACY C10 DES_PRIVACY C80 FLG_CONTATTATO/COD_CONTATTATO C10
DES_CONTATTATO C255 FLG_NON_INTERESSATO/COD_NON_INTERESSATO C10 DES_NON_INTERESSATO C255

@io_lead_acccrm std group=crm : CRM operator permissions
% IW tracciati/io_lead_acccrm.md; AMH CSV/imp/rec_lead_acccrm.cs; CIB BEIEIBUS.vb Elabora_ExportLeadAccessiCrm; CIC BEIEIBUS.vb Elabora_ExportLeadAccessiCrm
[IW AMH CIB CIC] COD_OPERATORE C50! COD_OPERATORE_FIGLIO C50! FLG_VISUALIZZA C10
FLG_MODIFICA C10

@io_lead_accessi std group=crm : Operator-lead links
% IW tracciati/io_lead_accessi.md; AMH CSV/rec_lead_accessi.cs; CIB BEIEIBUS.vb Elabora_ExportLeadAccessi (its header ends with |); CIC BEIEIBUS.vb Elabora_ExportLeadAccessi (CsvHelper)
[IW AMH CIB CIC] COD_OPERATORE C50! COD_LEAD C50! FLG_VISUALIZZA C10 FLG_MODIFICA C10

@io_lead_detcon std group=crm : Lead contacts
% IW tracciati/io_lead_detcon.md; AMH CSV/rec_lead_detcon.cs; CIB BEIEIBUS.vb Elabora_ExportLeadDetCon; CIC BEIEIBUS.vb Elabora_ExportLeadDetCon
# ID_CONTATTO is this table's earlier name for COD_CONTATTO.
[IW AMH CIB CIC] COD_LEAD C50! COD_CONTATTO/ID_CONTATTO C50 TIPO_CONTATTO C255 COGNOME C255
NOME C255 INDIRIZZO C255 CAP C20 CITTA C255 PROVINCIA C255 TELEFONO C255 CELLULARE C255
FAX C255 EMAIL C255

@io_lead_note std group=crm : Lead notes
% IW tracciati/io_lead_note.md; AMH CSV/imp/rec_lead_note.cs; CIB BEIEIBUS.vb Elabora_ExportLeadNote; CIC BEIEIBUS.vb Elabora_ExportLeadNote
[IW AMH CIB CIC] COD_LEAD C50! PROGRESSIVO I3! TIPO_NOTA C4000 NOTA C4000

@io_lead_testoff std group=crm : Offer headers
% IW tracciati/io_lead_testoff.md; AMH CSV/imp/rec_lead_testoff.cs; CIB BEIEIBUS.vb Elabora_ExportLeadTestOff; CIC BEIEIBUS.vb Elabora_ExportLeadTestOff
# CIB/CIC: COD_CLIFOR always empty, the status columns the ERP's S/N, TOTALE_OFFERTA the
# ERP's decimal as text.
[IW AMH CIB CIC] COD_LEAD C50 COD_CLIFOR C50 ANNO C50 SERIE C50 NUMERO C50 REVISIONE C50
DATA Dt REFERENTE C255 RIFERIMENTO C255 OGGETTO C255 COD_OPPORTUNITA C50
DES_OPPORTUNITA C255 GG_VALIDITA I9 COD_TIPO_OPERAZIONE C50 DES_TIPO_OPERAZIONE C255
COD_LISTINO C50 DES_LISTINO C255 COD_PAGAMENTO C50 DES_PAGAMENTO C255 DATA_CONSEGNA Dt
GG_CONSEGNA I9 DES_CONSEGNA C255 NOTE C4000 RILASCIATO C255 STAMPATO C255
CONFERMATO C255 RIFIUTATO C255 EVASO C255 ANNULLATO C255 CHIUSO C255 COD_VALUTA C50
TOTALE_OFFERTA D28,8

@io_lead_righoff std group=crm : Offer rows
% IW tracciati/io_lead_righoff.md; AMH CSV/imp/rec_lead_righoff.cs; CIB BEIEIBUS.vb Elabora_ExportLeadRighOff; CIC BEIEIBUS.vb Elabora_ExportLeadRighOff
# CHIAVE_TESTATA links a row to its io_lead_testoff header. CIB/CIC: QTA with 5
# decimals, prices 4, IMPORTO and discounts 2.
[IW AMH CIB CIC] CHIAVE_TESTATA C250 COD_LEAD C50 PRG_RIGA I6 COD_RIGA C50 DES_RIGA C3900
COD_UM C50 QTA D25,8 PRZ_LORDO D28,8 PRZ_NETTO D28,8 COD_VALUTA C50 IMPORTO D28,8
SC_{1..6} D14,6 DATA_CONFERMA Dt COD_CLIFOR C50

@io_lead_sconti std group=crm : Lead discounts
% IW tracciati/io_lead_sconti.md; AMH CSV/imp/rec_lead_sconti.cs
[IW AMH] COD_ART C50
[AMH] COD_LISTINO ?
[IW AMH] COD_LEAD C50 CLASSE_ARTICOLO C50 DES_CLASSE_ARTICOLO C255
[AMH] COD_PROMO ?
[IW AMH] QUANTITA_INIZIO D25,8 QUANTITA_FINE D25,8 DATA_INIZIO Dt DATA_FINE Dt
SCONTO{1..6} D14,6 TIPO_SCONTO{1..6} C5 PRIORITA I9

@io_campagne std group=crm : Campaigns
% IW tracciati/io_campagne.md; AMH CSV/rec_campagne.cs; CIB BEIEIBUS.vb Elabora_ExportCampagne; CIC BEIEIBUS.vb Elabora_ExportCampagne
[IW AMH CIB CIC] COD_CAMPAGNA C50! DES_CAMPAGNA C255

@io_campagne_operatore std group=crm : Campaign-operator links
% IW tracciati/io_campagne_operatore.md; AMH CSV/imp/rec_campagne_operatore.cs (NomiTracciati names no file for it)
[IW AMH] COD_CAMPAGNA C50! COD_OPERATORE C50!

@io_canali_vendita std dum=IW group=crm : Sales channels
% IW tracciati/io_canali_vendita.md (a copy of the io_nazioni page); AMH CSV/imp/rec_canali_vendita.cs; CIB BEIEIBUS.vb Elabora_ExportCanaliVendita; CIC BEIEIBUS.vb Elabora_ExportCanaliVendita
# As io_clifor_cate: the page's COD_NAZIONE/DES_NAZIONE are a copy; writers write
# CODICE/DESCRIZIONE and no DAT_ULT_MOD.
[IW AMH CIB CIC] CODICE/COD_NAZIONE C50! DESCRIZIONE/DES_NAZIONE C255

# The CRM code tables below have no page; every writer leaves DAT_ULT_MOD out. CODICE and
# DESCRIZIONE are this table's earlier names, kept as alternates.
@io_lead_cate std dumopt group=crm : Lead categories
% AMH CSV/imp/rec_lead_cate.cs; CIB BEIEIBUS.vb Elabora_ExportLeadCate; CIC BEIEIBUS.vb Elabora_ExportLeadCate
[AMH CIB CIC] COD_CATEGORIA/CODICE ?! DES_CATEGORIA/DESCRIZIONE ?
@io_lead_concorrenti std dumopt group=crm : Competitors
% AMH CSV/imp/rec_lead_concorrenti.cs; CIB BEIEIBUS.vb Elabora_ExportLeadConcorrenti; CIC BEIEIBUS.vb Elabora_ExportLeadConcorrenti
[AMH CIB CIC] COD_CONCORRENTE/CODICE ?! DES_CONCORRENTE/DESCRIZIONE ?
@io_lead_mansioni std dumopt group=crm : Job roles
% AMH CSV/imp/rec_lead_mansioni.cs; CIB BEIEIBUS.vb Elabora_ExportLeadMansioni; CIC BEIEIBUS.vb Elabora_ExportLeadMansioni
[AMH CIB CIC] COD_MANSIONE/CODICE ?! DES_MANSIONE/DESCRIZIONE ?
@io_lead_mod_acquisizione std dumopt group=crm : Acquisition modes
% AMH CSV/imp/rec_lead_mod_acquisizione.cs; CIB BEIEIBUS.vb Elabora_ExportLeadModAcquisizione; CIC BEIEIBUS.vb Elabora_ExportLeadModAcquisizione
[AMH CIB CIC] COD_ACQUISIZIONE/CODICE ?! DES_ACQUISIZIONE/DESCRIZIONE ?
@io_lead_fonti std dumopt group=crm : Lead sources
% AMH CSV/imp/rec_lead_fonti.cs
[AMH] COD_FONTE/CODICE ?! DES_FONTE/DESCRIZIONE ?
@io_lead_interessi std dumopt group=crm : Interests
% AMH CSV/imp/rec_lead_interessi.cs
[AMH] COD_INTERESSE/CODICE ?! DES_INTERESSE/DESCRIZIONE ?
@io_lead_settori std dumopt group=crm : Sectors
% AMH CSV/imp/rec_lead_settori.cs
[AMH] COD_SETTORE/CODICE ?! DES_SETTORE/DESCRIZIONE ?

@io_tipi_attivita std dumopt group=crm : Activity types
% AMH CSV/imp/rec_tipi_attivita.cs (NomiTracciati names no file for it); CIC BEIEIBUS.vb Elabora_ExportTipiAttivita (cIMP_TIPI_ATTIVITA, CsvHelper) and SQL Export/GetTipiAttivita.sql
# FLG_PREVISIONALE: S = on the iPad an activity may be to do, done or cancelled; N = done
# only (AMHelper). CIC: the ERP's S/N.
[AMH CIC] CODICE ?! DESCRIZIONE ? FLG_PREVISIONALE ?

@io_attivita std group=crm : Activities
% AMH CSV/imp/rec_attivita.cs and the AMHelper.xml shipped with CIC; CIC BEIEIBUS.vb Elabora_ExportAttivita (cIMP_ATTIVITA, CsvHelper) and SQL Export/GetAttivita.sql
# CIC: one row per activity and operator (CHIAVE = ditta§activity§operator), dates
# ddmmyyyy, times HH:MM, COD_STATO D (to do), E (done) or A (cancelled).
[AMH CIC] COD_ATTIVITA ?! COD_LEAD ? COD_TIPO_ATTIVITA ? DES_OGGETTO ?
# DATA_PREVISTA/ORA_PREVISTA: CIC's names; the AMHelper build shipped with CIC calls them
# DATA_PREVISTA_ATTIVITA/ORA_PREVISTA_ATTIVITA (the 2016 class has neither).
DATA_PREVISTA/DATA_PREVISTA_ATTIVITA ? ORA_PREVISTA/ORA_PREVISTA_ATTIVITA ?
DES_NOTE_ATTIVITA ? COD_OPERATORE ? COD_STATO ? DATA_ESECUZIONE ? ORA_ESECUZIONE ?
DES_NOTE ?
[AMH] COD_STATO_ATTIVITA ?

# ---------------------------------------------------------------- base tables
@io_citta std min group=base : Cities
% IW tracciati/io_citta.md and export-specifiche-files.md (example); DI caratteristiche-generali-files.rst (example); AMH CSV/rec_citta.cs; CIB BEIEIBUS.vb Elabora_ExportComuni and SQL Export/GetComuni.sql; CIC BEIEIBUS.vb Elabora_ExportComuni
# CODICE: documented C4, yet the vendor's own example on both sites has 5-character codes
# (A002A, A003A) and empty CAPs.
[IW DI AMH CIB CIC] CODICE C4! DESCRIZIONE C40 CAP C8 PROVINCIA C2

@io_condpag std min group=base : Payment terms
% IW tracciati/io_condpag.md; AMH CSV/imp/rec_condpag.cs; CIB BEIEIBUS.vb Elabora_ExportCodpaga; CIC BEIEIBUS.vb Elabora_ExportCodpaga
[IW AMH CIB CIC] CODICE C6! DESCRIZIONE C40
# SCONTO1: the IW name; AMHelper calls it SCONTO; CIB and CIC leave it out.
[IW AMH] SCONTO1/SCONTO D14,6

@io_condpag_lang std group=base : Payment terms in language
% IW tracciati/io_condpag_lang.md; AMH CSV/imp/rec_condpag_lang.cs
[IW AMH] COD_COND_PAG ?! COD_LINGUA ?! DES_COND_PAG C255

@io_nazioni std dum=IW group=base : Countries
% IW tracciati/io_nazioni.md; AMH CSV/imp/rec_nazioni.cs; CIB BEIEIBUS.vb Elabora_ExportNazioni; CIC BEIEIBUS.vb Elabora_ExportNazioni
# COD_NAZIONE/DES_NAZIONE: the IW names; AMHelper, CIB and CIC write CODICE/DESCRIZIONE
# (and no DAT_ULT_MOD), the names AppManager reads from the reference connector.
[IW AMH CIB CIC] CODICE/COD_NAZIONE C50! DESCRIZIONE/DES_NAZIONE C255

@io_porto std dum=IW group=base : Delivery terms (porto)
% IW tracciati/io_porto.md (a copy of the io_nazioni page); AMH CSV/rec_porto.cs; CIB BEIEIBUS.vb Elabora_ExportPorto; CIC BEIEIBUS.vb Elabora_ExportPorto
[IW AMH CIB CIC] CODICE/COD_NAZIONE C50! DESCRIZIONE/DES_NAZIONE C255

@io_valute std group=base : Currencies (untyped: no page documents it)
% AMH CSV/imp/rec_valute.cs
[AMH] COD_VALUTA ?! DES_VALUTA ? SIMBOLO ? FLG_PREF ?

@io_classi_sconto std dum=IW group=base : Discount classes
% IW tracciati/io_classi_sconto.md (a copy of the io_nazioni page); AMH CSV/rec_classi_sconto.cs; CIB BEIEIBUS.vb Elabora_ExportClassiSconto; CIC BEIEIBUS.vb Elabora_ExportClassiSconto
[IW AMH CIB CIC] CODICE/COD_NAZIONE C50! DESCRIZIONE/DES_NAZIONE C255

@io_mod_sped std dum=IW group=base : Shipping methods
% IW tracciati/io_mod_sped.md (a copy of the io_nazioni page); AMH CSV/imp/rec_mod_sped.cs
[IW AMH] CODICE/COD_NAZIONE C50! DESCRIZIONE/DES_NAZIONE C255

# ---------------------------------------------------------------- wTrendy
@io_articoli_assortimenti std group=wtrendy : Article assortments
% IW tracciati/io_articoli_assortimenti.md; AMH CSV/rec_articoli_assortimenti.cs
[IW AMH] COD_ART C50! COD_ASSORTIMENTO C255!
@io_assortimenti std group=wtrendy : Assortments
% IW tracciati/io_assortimenti.md; AMH CSV/rec_assortimenti.cs
[IW AMH] COD_ASSORTIMENTO C255! DES_ASSORTIMENTO C255 COD_SVILUPPO C255
@io_taglie_assortimenti std group=wtrendy : Assortment sizes
% IW tracciati/io_taglie_assortimenti.md; AMH CSV/imp/rec_taglie_assortimenti.cs
[IW AMH] COD_ASSORTIMENTO C255! COD_TAGLIA C255! QUANTITA D25,8
@io_taglie_cataloghi std group=wtrendy : Size catalogs
% IW tracciati/io_taglie_cataloghi.md; AMH CSV/rec_taglie_cataloghi.cs, later rec_cataloghi (one NomiTracciati version writes this file from rec_cataloghi)
[IW AMH] COD_CATALOGO C255! DES_CATALOGO C255 SCONTO_MAX D14,6
[AMH] FLG_MOD_PREZZO ? FLG_MOD_SCONTI ?
@io_taglie_cataloghi_art std group=wtrendy : Size catalog articles
% IW tracciati/io_taglie_cataloghi_art.md; AMH CSV/rec_taglie_cataloghi_art.cs
[IW AMH] COD_CATALOGO C255! COD_ARTICOLO C255!
@io_taglie_estensioni std group=wtrendy : Size extensions
% IW tracciati/io_taglie_estensioni.md; AMH CSV/rec_taglie_estensioni.cs
# COD_TIPO: the IW name; AMHelper writes TIPO (box or label).
[IW AMH] COD_TIPO/TIPO C255 COD_CLIENTE C255 COD_MATERIALE C255 DES_MATERIALE C255
COD_COLORE C255 DES_COLORE C255
@io_taglie_sviluppi std group=wtrendy : Size runs
% IW tracciati/io_taglie_sviluppi.md; AMH CSV/imp/rec_taglie_sviluppi.cs
[IW AMH] COD_SVILUPPO C255! DES_SVILUPPO C255 COD_TAGLIA C255! DES_TAGLIA C255 ORDINAMENTO I9
FLG_PREFERENZIALE I2
# COD_TAGLIA_GUIDA: IW and AMHelper's header comment; the class has no property for it.
[IW] COD_TAGLIA_GUIDA C255
[IW AMH] FLG_VISIBILE I2
@io_taglie_sviluppi_art std group=wtrendy : Size runs per article
% IW tracciati/io_taglie_sviluppi_art.md; AMH CSV/imp/rec_taglie_sviluppi_art.cs
[IW AMH] COD_ARTICOLO C255! COD_SVILUPPO C255! COD_TAGLIA C255 FLG_VISIBILE I2
@io_var_combinazioni std group=wtrendy : Variant combinations
% IW tracciati/io_var_combinazioni.md; AMH CSV/rec_var_combinazioni.cs
# The pages interleave POSIZIONEn, COD_MATERIALEn, DES_MATERIALEn, COD_COLOREn,
# DES_COLOREn; columns are matched by name, so they are grouped here.
[IW AMH] ORDINAMENTO I9 COD_COMBINAZIONE C255! DES_COMBINAZIONE C255 COD_ARTICOLO C255
COD_SVILUPPO C255 COD_CATALOGO C255 POSIZIONE{1..15} C255 COD_MATERIALE{1..15} C255
DES_MATERIALE{1..15} C255 COD_COLORE{1..15} C255 DES_COLORE{1..15} C255
@io_liste_colori std group=wtrendy : Colour lists
% IW tracciati/io_liste_colori.md; AMH CSV/imp/rec_liste_colori.cs
[IW AMH] COD_LISTA_COLORE C255! COD_COLORE C255! DES_COLORE C255
@io_liste_materiali std group=wtrendy : Material lists
% IW tracciati/io_liste_materiali.md; AMH CSV/rec_liste_materiali.cs
[IW AMH] COD_LISTA_MATERIALE C255! COD_MATERIALE C255! DES_MATERIALE C255
COD_LISTA_COLORI C255
@io_regole std group=wtrendy : Rules
% IW tracciati/io_regole.md; AMH CSV/rec_regole.cs
[IW AMH] COD_ARTICOLO C255 COD_CATALOGO C255
[IW] COD_SVILUPPO C255
[IW AMH] COD_LISTA_MATERIALE_COMB C255 ORDINAMENTO I9 COD_LISTA_MATERIALE{1..10} C255
DES_SCELTA{1..9} C255
[IW] DES_SCELTA10 C255
@io_clienti_assortimenti std group=wtrendy : Customer assortments
% IW tracciati/io_clienti_assortimenti.md; AMH CSV/rec_clienti_assortimenti.cs
[IW AMH] COD_CLIFOR C50! COD_ASSORTIMENTO C255!

# ---------------------------------------------------------------- special
@io_custom_fields std alsofile=io_customfields.dat group=special : Custom fields (tab "Altro")
% IW tracciati/io_custom_fields.md and io_customfields.md (two pages, two file names); DI int-export-dati-custom.rst; AMH CSV/rec_custom_fields.cs
[IW DI AMH] NOME C255 VALORE C4000 TIPO I50 CHIAVE_PADRE C250 CONTESTO C255!
[IW DI] VISUAL_MASK C255
[IW DI AMH] COD_EXT C50!
# POSIZIONE_*: the DI and AMHelper names; IW calls them ORIENTAMENTO_*.
POSIZIONE_VALORE/ORIENTAMENTO_VALORE I2 ORDINAMENTO C50 POSIZIONE_NOME/ORIENTAMENTO_NOME I2
TIPO_DATO I2

@io_catalogo group=special : Catalog media (in multimedia; no CHIAVE/COD_DITTA)
% IW tracciati/io_catalogo.md; DI int-export-catalogo.rst (example with ORDINAMENTO); AMH CSV/imp/rec_multimedia.cs (NomiTracciati's later mapping; CSV/rec_catalogo.cs before); CIB BEIEIBUS.vb Elabora_ExportCatalogo; CIC BEIEIBUS.vb Elabora_ExportCatalogo
# CIB/CIC: NOMEFILE = the ERP's image file name. DI's example writes DAT_ULT_MOD as a date
# (01012010); AMHelper's reader accepts 8 or 14 digits; the judge publishes the constant
# with a warning (no value of it reaches AppManager).
[IW DI AMH CIB CIC] NOMEFILE C25!^ TITOLO C8000! COD_ART C25 L1 C30! L2 C30 L3 C30 L4 C30
[DI AMH] ORDINAMENTO I9
[AMH] COD_OPERATORE ? COD_AGENTE ? COD_CATALOGO ?
[IW DI AMH CIB CIC] DAT_ULT_MOD DT

@io_multimedia group=special : Catalog media under an earlier AMHelper file name
% AMH CSV/NomiTracciati.cs (one version writes rec_multimedia to io_multimedia.dat, the later one to io_catalogo.dat) and CSV/imp/rec_multimedia.cs
[AMH] NOMEFILE ?!^ TITOLO ?! COD_ART ? COD_OPERATORE ? COD_AGENTE ? L1 ?! L2 ? L3 ? L4 ?
ORDINAMENTO ? DAT_ULT_MOD DT

@io_reports group=special : PDF reports (in reports; no CHIAVE/COD_DITTA)
% IW tracciati/io_reports.md; AMH CSV/rec_reports.cs; CIB SQL Export/GetOleObjects.sql; CIC BEIEIBUS.vb Elabora_ExportOleObjects
# CIB/CIC: NOMEFILE = ditta§type§code, TITOLO = the document's full path.
[IW AMH CIB CIC] NOMEFILE C25!^ TITOLO C8000 COD_ART C25
[IW AMH] COD_OPERATORE C50 COD_AGENTE C50 ORDINAMENTO I9
[IW AMH CIB CIC] L1 C30 L2 C30 L3 C30 L4 C30 DAT_ULT_MOD DT

@io_info group=special : Connector metadata (written on every export)
% AMH CSV/imp/rec_info.cs; CIB BEIEIBUS.vb Elabora_ExportInfo and SQL Export/GetInfo.sql; CIC BEIEIBUS.vb Elabora_ExportInfo
[AMH CIB CIC] DESCRIZIONE ?! VALORE ?

# ---------------------------------------------------------------- legacy return files (§4.1)
@AM_ORD positional minfields=52 file=*AM_ORD*.DAT group=legacy : Legacy orders (one row per order row)
% IW import-dati.md; DI int-import-dati.rst; AMH CSV/exp/rec_exp_order.cs; CIB BEIEIBUS.vb Elabora_ImportOrdini
[IW DI AMH CIB] COD_DITTA C50! COD_EXT_ORD ? T_DAT_ORDINE Dt NR_ORD_ORIG ?! T_COD_CLIFOR ?
T_COD_AGENTE ? T_DAT_CONS_TES Dt R_DES_NOTE ? T_COD_DEST ? R_IND_TIPO_RIGA I2 R_COD_ART ?
R_DES_RIGA_ORD ? R_CDA_UM1 ? R_CDA_UM2 ? R_QTA_1 D28,8 R_QTA_2 D28,8 R_PREZZO_1 D28,8
R_PREZZO_2 D28,8 TIPO_UM I2 R_IND_TIPO_OM I2 R_SCONTO_{1..6} D28,8 R_SCONTO_IMP D28,8
R_MAG_PERC1 D28,8 R_MAG_PERC2 D28,8 R_MAG_IMP D28,8 R_COD_CONF ? R_QTA_COLLI D28,8
T_COD_COND_PAG ? T_COD_COND_PAG_DEP ? T_COD_OPERATORE ? T_DAT_CONS_RIG Dt
# FILLER5: AMHelper names it T_NOTE (the order's header note); positional, so names only
# document it.
FILLER5/T_NOTE ? FILLER{6..20} ?
[AMH] COD_SERIE_ORDINI ? NUM_DOC_AGGIUNTA ?

@AM_CF_ANA positional file=*AM_CF_ANA*.DAT group=legacy : Legacy customer changes
% IW import-dati.md; DI int-import-dati.rst; AMH CSV/exp/rec_exp_clifor.cs; CIB BEIEIBUS.vb Elabora_ImportAnagra
[IW DI AMH CIB] COD_DITTA C50! COD_CLIFOR ? TIPO_CLIFOR ? TELEFONO1 ? TELEFONO2 ? FAX ?
CELLULARE ? E_MAIL ? PIVA ? RAG_SOC ? DES_INDIR ? DES_CAP ? DES_CITTA ? DES_PROVINCIA ?
COND_PAG ? CODICE_FISCALE ? ID ?

@AM_CF_NOTE positional file=*AM_CF_NOTE*.DAT group=legacy : Legacy customer notes
% IW import-dati.md; DI int-import-dati.rst; AMH CSV/exp/rec_exp_clifor_note.cs; CIB BEIEIBUS.vb Elabora_ImportCliforNote
[IW DI AMH CIB] COD_DITTA C50! COD_CLIFOR ? TIPO_CLIFOR ? PROGRESSIVO I3 TIPO_NOTA ?
DES_NOTE ? ID ?
"""
