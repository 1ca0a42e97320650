"""Every tracciato as data: the field lists of tracciati.md §2 (export) and §4.1 (legacy).

Syntax, parsed once by formats.layout:
  @name flag flag ... : description        starts a layout
  NAME TYPE NAME TYPE ...                   fields, in the documented order

Types: Cn text of at most n characters (capped at 4000), In integer of at most n digits,
Dp,s decimal with comma (p digits in all, s after the comma), Dt date ddmmyyyy,
DT date-time ddmmyyyyhhmmss, F flag 0/-1, Lp,s decimal with a dot (LATITUDINE/LONGITUDINE),
? untyped: the spec gives no type or length, so the field is permissive text (C4000).
A trailing ! marks a required field. NAME{1..6} expands to NAME1 ... NAME6.

Flags: std = starts CHIAVE C250! COD_DITTA C50! and ends DAT_ULT_MOD DT (§2.x);
nodum = std without DAT_ULT_MOD; chiave=N = CHIAVE length; extras = columns that are not
listed are accepted (untyped), used where the spec's field list is partial; min = part of
the minimum set (*); positional = no header row (legacy AM_* files), minfields=N = lines
may stop after N fields; file=GLOB = file-name pattern (default name.dat);
group=G = the §2 group the file belongs to.
"""

TABLE = r"""
# ---------------------------------------------------------------- articles
@io_art std min group=articles : Articles
COD_ART C25! DES_ART C255 COD_FAM C4 DES_FAM C30 COD_SFAM C4 DES_SFAM C30
COD_GRUPPO1 C4 DES_GRUPPO1 C30 COD_GRUPPO2 C4 DES_GRUPPO2 C30 UM1 C3 UM2 C3
COD_STATO C50 DES_STATO C255 FATTORE_CONVERSIONE D16,10 DES_GR_STAT1 C30 DES_GR_STAT2 C30
QTA_MIN_VEND D25,8 COD_CLASSE_SCONTO C50 COD_DEPERIBILITA C50 PREZZO_MIN_VEN D28,8
SCONTO_MAX_VEN D14,6 MAX_EXTRA_SCONTO D14,6 COD_SVILUPPO_BASE C255 PREZZO_RETAIL D28,8
DES_FILTRO{1..3} C255 FLG_MOD_UM_DEFAULT F
DES_FILTROA ? DES_FILTROB ? DES_FILTROC ? DES_ESTESA ? COD_ART_PADRE ? FLG_CATALOGO ?
FLG_REDDITIVITA ? FLG_KIT ? FLG_ORDINABILE ? DES_CLA_PROV ? FLG_LOCK_UM_DEFAULT ?

@io_art_lang std group=articles : Articles in language
COD_ART C50! COD_LINGUA C50! DES_ART C255

@io_art_um std min group=articles : Units of measure
COD_ART C50! UM C50! DESC_UM C1000 FAT_CONV D15,5 TIPO_UM I1 FLG_DEFAULT F

@io_listini_full std min group=articles : Price lists (every filter column empty = any)
TIPO_LISTINO C50 COD_ART C50 TIPO_CLIFOR I2 COD_CLIFOR C50 COD_DEPOSITO C50
COD_MACROAREA C50 COD_AREA C50 COD_ZONA C50 COD_MACROCATEGORIA C50 COD_CATEGORIA C50
COD_SOTTOCATEGORIA C50 COD_FAM_INIZIO C50 COD_FAM_FINE C50 COD_SFAM_INIZIO C50
COD_SFAM_FINE C50 COD_GRUPPO_INIZIO C50 COD_GRUPPO_FINE C50 COD_SGRUPPO_INIZIO C50
COD_SGRUPPO_FINE C50 COD_LISTINO C50 COD_CAMPAGNA C50 COD_DESTINAZIONE C50 COD_CLASSE C50
COD_COMBINAZIONE C255 COD_VALUTA C50 FLG_ESCLUDI_SCONTI C16
QUANTITA_INIZIO D25,8 QUANTITA_FINE D25,8 DATA_INIZIO Dt DATA_FINE Dt PREZZO D28,8
PRIORITA I9 SCONTO{1..6} D14,6 SCONTO_IMP D28,8 MAG_PERC1 D14,6 MAG_PERC2 D14,6
MAG_IMP D28,8 IND_GES_PREZZO C5 IND_GES_SC{1..6}_PER C5 IND_GES_SC_IMP C5
IND_GES_MAG1_PER C5 IND_GES_MAG2_PER C5 IND_GES_MAG_IMP C5 COD_CATALOGO C255
COD_MATERIALE_COMB C255
COD_MATERIALE1 C255 COD_COLORE1 C255 COD_MATERIALE2 C255 COD_COLORE2 C255
COD_MATERIALE3 C255 COD_COLORE3 C255 COD_MATERIALE4 C255 COD_COLORE4 C255
COD_MATERIALE5 C255 COD_COLORE5 C255 COD_MATERIALE6 C255 COD_COLORE6 C255
COD_MATERIALE7 C255 COD_COLORE7 C255 COD_MATERIALE8 C255 COD_COLORE8 C255
COD_MATERIALE9 C255 COD_COLORE9 C255 COD_MATERIALE10 C255 COD_COLORE10 C255

@io_sconti std min group=articles : Discounts
COD_ART C50 COD_LISTINO ? TIPO_CLIFOR I2 COD_CLIFOR C50 CLASSE_ARTICOLO C50
DES_CLASSE_ARTICOLO C255 CLASSE_CLIENTE C50 DES_CLASSE_CLIENTE C255 COD_PROMO C50
QUANTITA_INIZIO D25,8 QUANTITA_FINE D25,8 DATA_INIZIO Dt DATA_FINE Dt PRIORITA I9
SCONTO{1..6} D14,6 TIPO_SCONTO{1..6} C5 COD_VALUTA C50

@io_stoart std min group=articles : Article history per customer
COD_CLIFOR C50! COD_ART C25! DESC_ARTICOLO C1600 NUM_RIGHE I10 ULT_NUM_REG C12
ULT_PROG_RIGA I6 ULT_QTA D25,8 ULT_PRZ D28,8 ULT_UM C50 ULT_QTA2 ? ULT_PRZ2 ? ULT_UM2 ?
COD_DEST C50 ULT_SC_PER{1..6} D6,3 ULT_SC_IMPORTO D28,8 ULT_MAG_PER1 D6,3 ULT_MAG_PER2 D6,3
ULT_MAG_IMPORTO D28,8 ULT_DATA Dt

@io_art_ultacq std group=articles : Last purchases
COD_ART C25! PROG I3 VALUTA C4 PRZ D28,8 DATA_DOC ? NUM_DOC I7 COD_CLFOR C50 TIPO_DOC C50

@io_art_ultven std group=articles : Last sales
COD_ART C25! PROG I3 VALUTA C4 PRZ D28,8 DATA_DOC ? NUM_DOC I7 COD_CLFOR C50

@io_giacenze std group=articles : Stock
COD_ARTICOLO C25! COD_DEPOSITO C2! DES_DEPOSITO C255 GIACENZA D25,8 DISPONIBILITA D25,8 UM1 C3

@io_art_conf std group=articles : Packaging codes (untyped in the spec)
COD_ART ?! COD_CONF ?! PZ_CONF ? FLG_PREF ?

@io_art_barcode std group=articles : Barcodes (untyped in the spec)
COD_ART ?! BARCODE ?! UM ? QTA ? TIPO_BARCODE ?

@io_magazzini std group=articles : Warehouses (untyped in the spec)
COD_MAGAZZINO ?! DES_MAGAZZINO ?

# ---------------------------------------------------------------- customers / suppliers
@io_clifor_gen std min group=customers : Customers and suppliers
TIPO_CLIFOR I2! COD_CLIFOR C50! RAG_SOC C255 TAG C255 INDIRIZZO C255 PARTITA_IVA C50
CODICE_FISCALE C20 TELEFONO1 C255 TELEFONO2 C255 FAX C255 CELLULARE C255 EMAIL C255
INTERNET C255 CAP C20 CITTA C255 PROVINCIA C255 LATITUDINE L50,6 LONGITUDINE L50,6
COD_CLASSE_SCONTO C50 FLG_MOD_NEL_DISP I2 FLG_DEPERIBILITA I2 COD_CAT_EXTRA_SCONTO C50
COD_SVILUPPO C255 NAZIONE C255 PAGAMENTO C255 BANCA C255 AGENZIA C255
LISTINO_ANAGRAFICO C255 VALUTA C50 SCO_PERC{1..6} D14,6 SCONTI_ANAG_PERC C255
SCONTI_ANAG_IMP D14,6 MAGGIORAZIONE_ANAG_PERC D6,3 SCONTO_PIEDE D6,3 COD_LISTINO C50
COD_CONDPAG C50 COD_VALUTA C50 MACROAREA C255 DATA_CREAZIONE Dt AREA C255 ZONA C255
MACROCATEGORIA C255 DATA_ULT_DOC_NO_FT Dt CATEGORIA C255 SOTTOCATEGORIA C255
DATA_ULT_DOC_FT Dt DATA_ULT_ORDINE Dt FIDO_AZIENDALE D15,2 DES_RAGGR{1..3} C255
COD_MACROAREA C50 COD_AREA C50 COD_ZONA C50 COD_MACROCATEGORIA C50 COD_CATEGORIA C50
COD_SOTTOCATEGORIA C50 FLG_NEW_CLIFOR F
PEC ? IBAN ? COD_PIN_MAPPA ? DES_PIN_MAPPA ? TOT_MIN_ORDINABILE ? FLG_NEGOZIO ?
COD_BLOCCO ? COD_GIORNO_CONSEGNA ? COD_TIPO_CLIENTE ? DES_STATO ? DES_ZONA ?
RAGGR{1..3} ?

@io_clifor_age std min group=customers : Customer-agent links
TIPO_CLIFOR I1! COD_CLIFOR C50! COD_AGE C50! RAGSOC_AGE C40 PREFERENZIALE I1

@io_clifor_blo std min group=customers : Customer blocks
TIPO_CLIFOR I1! COD_CLIFOR C50! COD_BLOCCO I2 TIPO_BLOCCO C15 NOTA_BLOCCO C4000 DATA_BLOCCO Dt

@io_clifor_girovisita std extras group=customers : Visit calendar (partly typed in the spec)
COD_CLIFOR ?! COD_AGE ?! COD_DEST ? GG_VISITA I2 SEQUENZA I9 GG_ULT_VISITA I2 DAT_ULT_VISITA ?

@io_clifor_dest std min group=customers : Delivery destinations
TIPO_CLIFOR I1! COD_CLIFOR C50! PREFERENZIALE I10 COD_DEST C4! RAG_SOC_DEST C8000
INDIRIZZO C8000 CAP C8 CITTA C8000 PROVINCIA C2 STAMPA_PREF_DOC C6 TELEFONO C20
CELLULARE C20 MAIL C40 FAX C20 NOTE_DEST C512

@io_clifor_cate std group=customers : Customer categories
CODICE C50! DESCRIZIONE C255

@io_clifor_detcon std extras group=customers : Contacts (field list partial in the spec)
TIPO_CLIFOR ? COD_CLIFOR ? ID_CONTATTO ?! TIPO_CONTATTO ? PREF ? COGNOME ? COGNOME_NOME ?
NOME ? INDIRIZZO ? CAP ? CITTA ? PROVINCIA ? TELEFONO ? CELLULARE ? FAX ? EMAIL1 ? EMAIL2 ?
NOTE ?

@io_clifor_note std group=customers : Customer notes
TIPO_CLIFOR ?! COD_CLIFOR ?! PROGRESSIVO I3! TIPO_NOTA ? NOTA C4000

@io_clifor_testdoc std extras group=customers : Document headers (field list partial in the spec)
TIPO_CLIFOR ? COD_CLIFOR ? COD_TIPODOC ? COD_STIPODOC ? FLGDAEVADERE ? DATADOC ? NUMREG C12!
TIPODOC ? NUM_DOC ? TOTALEDOC D28,8 DES_NOTE ? DES_DOC ?

@io_clifor_righdoc std extras group=customers : Document rows (field list partial in the spec)
NUM_REG C12! DATA_DOC ? PRG_RIGA ?! COD_RIGA ? DES_RIGA ? COD_UM ? QTA ? PRZ_LORDO ?
PRZ_NETTO ? IMPORTO ? SC_1 ? SC_2 ?

@io_clifor_scadoc std min chiave=154 group=customers : Open items and due dates
NUM_REG C12! COD_RATA C7! DAT_SCAD Dt IMPORTO D28,8 DES_TIPO C255 DES_STATO C255
DES_OPERAZIONE C255 DES_BANCA_AGENZIA C255 DES_SCAD C255 COD_CLIFOR C50 TIPO_CLIFOR I1
DATA_DOC Dt NUM_DOC C20 COD_VALUTA C50 NETTO_PREV ? DES_TIPO_PRES ?

@io_clifor_fatt std group=customers : Turnover
TIPO_CLIFOR ?! COD_CLIFOR ?! ANNO ?! MESE ?! COD_VALUTA ? FATTURATO D28,8

@io_clifor_oper std group=customers : Customer-operator links
TIPO_CLIFOR ?! COD_CLIFOR ?! COD_OPERATORE ?!

@io_clifor_esclusioni std group=customers : Customer exclusions
TIPO_CLIFOR ?! COD_CLIFOR ?! COD_FAM ? COD_SFAM ?

# ---------------------------------------------------------------- agents / catalog visibility
@io_agenti nodum group=agents : Agents (untyped in the spec, no DAT_ULT_MOD)
COD_AGENTE ?! DES_AGENTE ?

@io_agenti_esclusioni std group=agents : Agent exclusions
COD_AGENTE ?! COD_FAM ? COD_SFAM ?

@io_cataloghi std group=agents : Catalogs (per-agent visibility)
COD_CATALOGO ?! DES_CATALOGO ? SCONTO_MAX ? FLG_MOD_PREZZO ? FLG_MOD_SCONTI ?

@io_cataloghi_art std group=agents : Catalog-article links
COD_CATALOGO ?! COD_ARTICOLO ?!

@io_cataloghi_agente std group=agents : Catalog-agent links
COD_CATALOGO ?! COD_AGENTE ?!

# ---------------------------------------------------------------- leads / CRM (partial lists)
@io_leads std extras group=crm : Leads
COD_LEAD ?! COD_CLIFOR ? DESCRIZIONE1 ? DESCRIZIONE2 ? INDIRIZZO ? CAP ? CITTA ? PROVINCIA ?
NAZIONE ? TELEFONO ? CELLULARE ? FAX ? EMAIL ? INTERNET ? LATITUDINE ? LONGITUDINE ?
COD_STATO ? COD_CATEGORIA ? COD_ZONA ?
@io_lead_acccrm std extras group=crm : CRM operator permissions
@io_lead_accessi std extras group=crm : Operator-lead links
COD_OPERATORE ? COD_LEAD ?
@io_lead_detcon std extras group=crm : Lead contacts
COD_LEAD ?! ID_CONTATTO ?
@io_lead_note std group=crm : Lead notes
COD_LEAD ?! PROGRESSIVO ?! TIPO_NOTA ? NOTA C4000
@io_lead_testoff std extras group=crm : Offer headers
@io_lead_righoff std extras group=crm : Offer rows
@io_lead_sconti std extras group=crm : Lead discounts
@io_campagne std group=crm : Campaigns
COD_CAMPAGNA C50! DES_CAMPAGNA C255
@io_campagne_operatore std extras group=crm : Campaign-operator links
@io_canali_vendita std extras group=crm : Sales channels
CODICE ? DESCRIZIONE ?
@io_lead_cate std extras group=crm : Lead categories
CODICE ? DESCRIZIONE ?
@io_lead_concorrenti std extras group=crm : Competitors
CODICE ? DESCRIZIONE ?
@io_lead_mansioni std extras group=crm : Job roles
CODICE ? DESCRIZIONE ?
@io_lead_mod_acquisizione std extras group=crm : Acquisition modes
CODICE ? DESCRIZIONE ?
@io_lead_fonti std extras group=crm : Lead sources
CODICE ? DESCRIZIONE ?
@io_lead_interessi std extras group=crm : Interests
CODICE ? DESCRIZIONE ?
@io_lead_settori std extras group=crm : Sectors
CODICE ? DESCRIZIONE ?

# ---------------------------------------------------------------- base tables
@io_citta std min group=base : Cities
CODICE C4! DESCRIZIONE C40 CAP C8 PROVINCIA C2

@io_condpag std min group=base : Payment terms
CODICE C6! DESCRIZIONE C40 SCONTO1 D14,6 SCONTO D14,6

@io_condpag_lang std group=base : Payment terms in language
COD_COND_PAG ?! COD_LINGUA ?! DES_COND_PAG C255

@io_nazioni std group=base : Countries
CODICE C50! DESCRIZIONE C255

@io_porto std group=base : Delivery terms (porto)
CODICE C50! DESCRIZIONE C255

@io_valute std group=base : Currencies (untyped in the spec)
COD_VALUTA ?! DES_VALUTA ? SIMBOLO ? FLG_PREF ?

@io_classi_sconto std extras group=base : Discount classes
CODICE ? DESCRIZIONE ?

@io_mod_sped std group=base : Shipping methods
CODICE ?! DESCRIZIONE ?

# ---------------------------------------------------------------- wTrendy (no field lists published)
@io_articoli_assortimenti std extras group=wtrendy : Article assortments
@io_assortimenti std extras group=wtrendy : Assortments
@io_taglie_assortimenti std extras group=wtrendy : Assortment sizes
@io_taglie_cataloghi std extras group=wtrendy : Size catalogs
@io_taglie_cataloghi_art std extras group=wtrendy : Size catalog articles
@io_taglie_estensioni std extras group=wtrendy : Size extensions
@io_taglie_sviluppi std extras group=wtrendy : Size runs
@io_taglie_sviluppi_art std extras group=wtrendy : Size runs per article
@io_var_combinazioni std extras group=wtrendy : Variant combinations
@io_liste_colori std extras group=wtrendy : Colour lists
@io_liste_materiali std extras group=wtrendy : Material lists
@io_regole std extras group=wtrendy : Rules
@io_clienti_assortimenti std extras group=wtrendy : Customer assortments

# ---------------------------------------------------------------- special
@io_custom_fields std group=special : Custom fields (tab "Altro"; untyped in the spec)
NOME ? VALORE ? TIPO ? CHIAVE_PADRE ? CONTESTO ?! COD_EXT ?! VISUAL_MASK ? POSIZIONE_VALORE ?
ORDINAMENTO ? POSIZIONE_NOME ? TIPO_DATO ?

@io_catalogo group=special : Catalog media (in multimedia; no CHIAVE/COD_DITTA)
NOMEFILE C25! TITOLO C8000! COD_ART C25 L1 C30! L2 C30 L3 C30 L4 C30 ORDINAMENTO I9
COD_OPERATORE ? COD_AGENTE ? COD_CATALOGO ? DAT_ULT_MOD DT

@io_reports group=special : PDF reports (in reports; no CHIAVE/COD_DITTA)
NOMEFILE C25! TITOLO C8000 COD_ART C25 COD_OPERATORE C50 COD_AGENTE C50 ORDINAMENTO I9
L1 C30 L2 C30 L3 C30 L4 C30 DAT_ULT_MOD DT

@io_info group=special : Connector metadata (written on every export)
DESCRIZIONE ?! VALORE ?

# ---------------------------------------------------------------- legacy return files (§4.1)
@AM_ORD positional minfields=52 file=*AM_ORD*.DAT group=legacy : Legacy orders (one row per order row)
COD_DITTA C50! COD_EXT_ORD ? T_DAT_ORDINE Dt NR_ORD_ORIG ?! T_COD_CLIFOR ? T_COD_AGENTE ?
T_DAT_CONS_TES Dt R_DES_NOTE ? T_COD_DEST ? R_IND_TIPO_RIGA I2 R_COD_ART ? R_DES_RIGA_ORD ?
R_CDA_UM1 ? R_CDA_UM2 ? R_QTA_1 D28,8 R_QTA_2 D28,8 R_PREZZO_1 D28,8 R_PREZZO_2 D28,8
TIPO_UM I2 R_IND_TIPO_OM I2 R_SCONTO_{1..6} D28,8 R_SCONTO_IMP D28,8 R_MAG_PERC1 D28,8
R_MAG_PERC2 D28,8 R_MAG_IMP D28,8 R_COD_CONF ? R_QTA_COLLI D28,8 T_COD_COND_PAG ?
T_COD_COND_PAG_DEP ? T_COD_OPERATORE ? T_DAT_CONS_RIG Dt FILLER{5..20} ?
COD_SERIE_ORDINI ? NUM_DOC_AGGIUNTA ?

@AM_CF_ANA positional file=*AM_CF_ANA*.DAT group=legacy : Legacy customer changes
COD_DITTA C50! COD_CLIFOR ? TIPO_CLIFOR ? TELEFONO1 ? TELEFONO2 ? FAX ? CELLULARE ? E_MAIL ?
PIVA ? RAG_SOC ? DES_INDIR ? DES_CAP ? DES_CITTA ? DES_PROVINCIA ? COND_PAG ?
CODICE_FISCALE ? ID ?

@AM_CF_NOTE positional file=*AM_CF_NOTE*.DAT group=legacy : Legacy customer notes
COD_DITTA C50! COD_CLIFOR ? TIPO_CLIFOR ? PROGRESSIVO I3 TIPO_NOTA ? DES_NOTE ? ID ?
"""
